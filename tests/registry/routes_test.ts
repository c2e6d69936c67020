import assert from "node:assert/strict";
import { REGISTRIES } from "../../src/dci/registry_router.ts";
import { profileOf } from "../../src/registries/index.ts";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { fixtureDeps, item, pred } from "./fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function post(
  app: ReturnType<typeof createApp>,
  path: string,
  body: unknown,
  headers: Record<string, string>,
) {
  const res = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Json };
}

Deno.test("POST /sync/search behind real auth: signed on-search answer on every prefix", async () => {
  const deps = await fixtureDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const jwks = await (await app.request("/.well-known/jwks.json")).json();
    for (
      const path of [
        "/dci_api/v1/social/registry/sync/search",
        "/registry/sync/search",
        "/dci_api/v1/registry/sync/search",
      ]
    ) {
      const env = alice.sign(
        requestEnvelope(alice.senderId, {
          transaction_id: "t-1",
          search_request: [item(pred("surname", "eq", "Mensah"))],
        }, { totalCount: 1, nowMs: deps.clock.now() }),
      );
      const res = await post(app, path, env, alice.headers());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.header.action, "on-search");
      assert.equal(res.body.header.status, "succ");
      assert.equal(res.body.header.completed_count, 1);
      assert.equal(res.body.header.receiver_id, alice.senderId);
      assert.deepEqual(res.body.message.search_response[0].data.reg_records.map((r: Json) => r["@id"]), [
        "P4",
        "P5",
      ]);
      assert.ok(verifyWithJwks(res.body, jwks, deps.clock.now()), "answer signed with the server key");
    }
    // A registry of the path vocabulary without a profile yet (crvs answers for real since issue 13).
    const unsupported = REGISTRIES.find((r) => !profileOf(r)) ?? "social";
    const crvs = await post(
      app,
      `/dci_api/v1/${unsupported}/registry/sync/search`,
      alice.sign(
        requestEnvelope(alice.senderId, {
          transaction_id: "t-2",
          search_request: [item(pred("sex", "eq", "male"))],
        }, { totalCount: 1, nowMs: deps.clock.now() }),
      ),
      alice.headers(),
    );
    assert.equal(crvs.status, 200);
    if (unsupported !== "social") {
      assert.equal(crvs.body.header.status_reason_code, "rjct.action.not_supported");
      assert.equal(crvs.body.message.search_response[0].status, "rjct");
      assert.equal(
        crvs.body.message.search_response[0].status_reason_code,
        undefined,
        "not an item-level code",
      );
    }
    const unauth = await post(
      app,
      "/registry/sync/search",
      requestEnvelope(alice.senderId, { transaction_id: "t", search_request: [] }),
      {},
    );
    assert.equal(unauth.status, 401);
  } finally {
    deps.close();
  }
});

Deno.test("POST /sync/search: header-level rejections are rjct envelopes", async () => {
  const deps = await fixtureDeps();
  try {
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const send = (totalCount: number, header: Record<string, unknown> = {}) =>
      post(
        app,
        "/registry/sync/search",
        alice.sign(
          requestEnvelope(alice.senderId, {
            transaction_id: "t",
            search_request: [item(pred("sex", "eq", "male"))],
          }, { totalCount, header, nowMs: deps.clock.now() }),
        ),
        alice.headers(),
      );
    const count = await send(5);
    assert.equal(count.status, 400);
    assert.equal(count.body.header.status, "rjct");
    assert.equal(count.body.header.action, "on-search");
    assert.equal(count.body.header.status_reason_code, "rjct.total_count.invalid");
    const version = await send(1, { version: "9.9.9" });
    assert.equal(version.body.header.status_reason_code, "rjct.version.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("admin registrants: create, read, put, patch, delete, each recorded as an event", async () => {
  const deps = await fixtureDeps();
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const h = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const start = (await deps.storage.registry.eventsAfter(0, { limit: 10_000 })).at(-1)!.id;
    const created = await call("POST", "/registrants", {
      id: "N1",
      identifier: [{ identifier_type: "UIN", identifier_value: "N-1" }],
      name: { given_name: "Nia", surname: "Tembo" },
      sex: "female",
      birth_date: "1990-01-02",
      group_id: "G2",
      relationship: "SIS",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.record.name.given_name, "Nia");
    assert.equal((await call("POST", "/registrants", { id: "N1" })).status, 409);
    const dup = await call("POST", "/registrants", {
      id: "N2",
      identifier: [{ identifier_type: "UIN", identifier_value: "U-1" }],
    });
    assert.equal(dup.status, 409, "identifier already used");
    assert.equal((await call("POST", "/registrants", { id: "N3", birth_date: "1990-02-30" })).status, 400);
    const put = await call("PUT", "/registrants/N1", {
      identifier: [{ identifier_type: "UIN", identifier_value: "N-1b" }],
      name: { given_name: "Nia", surname: "Banda" },
      sex: "female",
      birth_date: "1990-01-02",
    });
    assert.equal(put.status, 200);
    const patched = await call("PATCH", "/registrants/N1", { sex: "other" });
    assert.equal(patched.body.record.sex, "other");
    assert.equal(patched.body.record.name.surname, "Banda");
    assert.equal((await call("GET", "/registrants/N1")).body.record.identifier[0].identifier_value, "N-1b");
    assert.equal((await call("DELETE", "/registrants/N1")).status, 200);
    assert.equal((await call("GET", "/registrants/N1")).status, 404);
    assert.equal((await call("DELETE", "/registrants/N1")).status, 404);
    const events = await deps.storage.registry.eventsAfter(start);
    assert.deepEqual(events.map((e) => e.eventType), ["registration", "update", "update", "delete"]);
    assert.deepEqual(events[3].record.identifier, [{
      "@type": "Identifier",
      identifier_type: "UIN",
      identifier_value: "N-1b",
    }]);
    const list = await call("GET", "/registrants?record_type=group");
    assert.deepEqual(list.body.items.map((i: Json) => i.id), ["G2", "G1"]);
    const viewer = await deps.storage.adminTokens.create({ role: "viewer" });
    const refused = await app.request("/admin/v1/registrants/P1", {
      method: "DELETE",
      headers: { authorization: `Bearer ${viewer.token}` },
    });
    assert.equal(refused.status, 403);
  } finally {
    deps.close();
  }
});

Deno.test("admin registrants: PATCH takes the fields in every form POST does; a PATCH that changes nothing writes no event", async () => {
  const deps = await fixtureDeps();
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const events = async () =>
      (await deps.storage.registry.eventsAfter(0, { limit: 10_000 })).map((e) => e.eventType);
    const created = await call("POST", "/registrants", {
      id: "PA1",
      identifier: [{ identifier_type: "UIN", identifier_value: "PA-1" }],
      name: { given_name: "Nia", surname: "Tembo" },
      sex: "female",
      birth_date: "1990-01-02",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const before = (await events()).length;
    const aliased = await call("PATCH", "/registrants/PA1", {
      surname: "Phiri",
      identifiers: [{ identifier_type: "UIN", identifier_value: "PA-1b" }],
      birthdate: "1991-03-04",
      phone: ["+99 700000009"],
      addresses: [{ locality: "Northgate" }],
      household_id: "G2",
      relationship_type: "DAU",
      additional_attributes: { note: "moved" },
    });
    assert.equal(aliased.status, 200, JSON.stringify(aliased.body));
    const r = (await deps.storage.registry.get("PA1"))!;
    assert.deepEqual(
      r.name,
      { given_name: "Nia", surname: "Phiri" },
      "a flat name part changes that part alone",
    );
    assert.deepEqual(r.identifiers, [{ type: "UIN", value: "PA-1b" }]);
    assert.deepEqual(
      [r.birthDate, r.phones, r.addresses, r.groupRef, r.relationship, r.attributes],
      ["1991-03-04", ["+99 700000009"], [{ locality: "Northgate" }], "G2", "DAU", { note: "moved" }],
    );
    assert.equal(aliased.body.record.name.surname, "Phiri");
    const first = await call("PATCH", "/registrants/PA1", { first_name: "Nora", name: "Noor" });
    assert.deepEqual(
      first.body.record.name.given_name,
      "Noor",
      "a name string wins over flat parts, as in POST",
    );
    const group = await call("PATCH", "/registrants/G2", {
      group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "H-2b" }],
    });
    assert.equal(group.status, 200);
    assert.deepEqual((await deps.storage.registry.get("G2"))!.identifiers, [{
      type: "HOUSEHOLD_ID",
      value: "H-2b",
    }]);
    assert.deepEqual((await events()).slice(before), ["update", "update", "update"]);

    // Nothing changes: 200 with the record as it is, no event (subscribers are told of nothing).
    const stored = (await call("GET", "/registrants/PA1")).body;
    for (
      const body of [
        {},
        { sex: "female" },
        { surname: "Phiri", given_name: "Noor" },
        { phone_number: ["+99 700000009"], household_id: "G2" },
      ]
    ) {
      const same = await call("PATCH", "/registrants/PA1", body);
      assert.equal(same.status, 200, JSON.stringify(body));
      assert.deepEqual(same.body, stored, JSON.stringify(body));
    }
    assert.equal((await events()).length, before + 3, "no event for a PATCH that changes nothing");
    assert.equal((await call("PATCH", "/registrants/NOPE", { sex: "male" })).status, 404);
    const cleared = await call("PATCH", "/registrants/PA1", { surname: null, phone: null });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.deepEqual((await deps.storage.registry.get("PA1"))!.name, { given_name: "Noor" });
    assert.equal((await deps.storage.registry.get("PA1"))!.phones.length, 0);
    assert.deepEqual((await events()).slice(before + 3), ["update"]);
  } finally {
    deps.close();
  }
});
