/**
 * The flow of OpenSPP's own DCI API guide (docs/developer_guide/api_usage/dci_api.md in OpenSPP/documentation),
 * as a fixture: the bodies are what its Python example sends (`requests.post(url, json=payload)`, i.e.
 * `json.dumps` with its default `", "` and `": "` separators), byte for byte, except a fresh `message_id` and
 * `message_ts` (the guide's are from 2022, which the replay window rightly refuses).
 *
 *  1. `POST /oauth2/client/token` with a JSON body carrying `db_name` (an Odoo database name we do not need);
 *  2. `POST /registry/sync/search` with only a bearer token (no signature), sender id
 *     `https://integrating-server.com`, `total_count: 10` for one search item, `reg_type`
 *     `SPP:RegistryType:Individual`, and two predicate items without `seq_num` on `birthdate`.
 *
 * The sender is registered through the admin API with the settings such a partner needs: signatures optional
 * and the `total_count` leniency. The answer must be 200 with the persons born on 2020-11-02 (P3 and P5 of the
 * registry fixture), and it must validate against the spec's sync search response.
 */
import assert from "node:assert/strict";
import { createApp } from "../helpers/app.ts";
import { fixtureDeps } from "../registry/fixture.ts";
import { answerErrors } from "../helpers/spec_check.ts";

const SENDER = "https://integrating-server.com";

/** The guide's token request body, as `json.dumps(token_payload)` writes it. */
function tokenBody(clientId: string, clientSecret: string): string {
  return `{"grant_type": "client_credentials", "client_id": "${clientId}", "client_secret": "${clientSecret}", ` +
    `"db_name": "your_db"}`;
}

/** The guide's search payload, as `json.dumps(search_payload)` writes it, with a fresh message_id and message_ts. */
function searchBody(messageId: string, messageTs: string): string {
  return `{"header": {"message_id": "${messageId}", "message_ts": "${messageTs}", "action": "search", ` +
    `"sender_id": "https://integrating-server.com", "total_count": 10}, "message": {"transaction_id": ` +
    `"123456789020211216223812", "search_request": [{"reference_id": "123456789020211216223812", "timestamp": ` +
    `"2022-12-04T17:20:07-04:00", "search_criteria": {"reg_type": "SPP:RegistryType:Individual", "query_type": ` +
    `"predicate", "query": [{"expression1": {"attribute_name": "birthdate", "operator": "ge", "attribute_value": ` +
    `"2000-11-02"}}, {"expression1": {"attribute_name": "birthdate", "operator": "eq", "attribute_value": ` +
    `"2020-11-02"}}]}}]}}`;
}

/** A message_ts as Python's `datetime.now(timezone.utc).isoformat(timespec="seconds")` writes it. */
function pythonIsoNow(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "+00:00";
}

Deno.test("OpenSPP DCI API guide: JSON token body with db_name, then a bearer-only sync search answered 200 with the right records", async () => {
  const deps = await fixtureDeps();
  try {
    const app = createApp(deps);
    const { token: adminToken } = await deps.storage.adminTokens.create({ role: "admin" });
    const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };

    // The operator registers the partner with the settings its client needs.
    const created = await app.request("/admin/v1/senders", {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        sender_id: SENDER,
        name: "OpenSPP (DCI API guide)",
        signature_policy: "optional",
        lenient: ["total_count"],
      }),
    });
    const sender = await created.json();
    assert.equal(created.status, 201, JSON.stringify(sender));
    assert.equal(sender.signature_policy, "optional");
    assert.deepEqual(sender.lenient, ["total_count"]);
    const clientRes = await app.request("/admin/v1/clients", {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ sender_id: SENDER, scopes: ["registry.search"] }),
    });
    const client = await clientRes.json();
    assert.equal(clientRes.status, 201, JSON.stringify(client));

    // 1. The token, as the guide asks for it.
    const tokenRes = await app.request("/oauth2/client/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: tokenBody(client.client_id, client.client_secret),
    });
    const token = await tokenRes.json();
    assert.equal(tokenRes.status, 200, JSON.stringify(token));
    assert.equal(token.token_type, "Bearer");

    // 2. The search, with only the bearer token.
    const messageId = `${deps.clock.now()}${crypto.getRandomValues(new Uint32Array(1))[0]}`;
    const res = await app.request("/registry/sync/search", {
      method: "POST",
      headers: { authorization: `Bearer ${token.access_token}`, "content-type": "application/json" },
      body: searchBody(messageId, pythonIsoNow(deps.clock.now())),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.header.status, "succ", JSON.stringify(body.header));
    assert.equal(body.header.receiver_id, SENDER);
    assert.equal(body.header.total_count, 1, "the answer states the real item count, not the 10 sent");
    assert.equal(body.message.transaction_id, "123456789020211216223812");
    const [item] = body.message.search_response;
    assert.equal(item.reference_id, "123456789020211216223812");
    assert.equal(item.status, "succ", JSON.stringify(item));
    const ids = item.data.reg_records.map((r: Record<string, unknown>) => r["@id"]).sort();
    assert.deepEqual(ids, ["P3", "P5"], "the persons born on 2020-11-02 (and on or after 2000-11-02)");
    assert.equal(item.pagination.total_count, 2);

    assert.deepEqual(
      answerErrors("/registry/sync/search", 200, body),
      [],
      "the answer validates against the spec",
    );
  } finally {
    deps.close();
  }
});
