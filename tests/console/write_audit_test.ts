/**
 * Console writes in the audit log, without a browser: each records the field names and non-secret values of its
 * form as the admin API records those of its JSON body (never a token, secret or key). The row is written ahead
 * of the write: when it cannot be, the write is not made; when its completion fails after a done write, that is
 * logged (the row stays unfinished) without turning the write into a 500 or losing the secret it shows once.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createSession, readSession, SESSION_COOKIE } from "../../src/console/session.ts";
import { createLogger } from "../../src/obs/log.ts";
import type { AuditRow } from "../../src/audit/log.ts";

const KEK = Buffer.from(randomBytes(32)).toString("base64");
const OUTBOUND_SECRET = "partner-outbound-bearer-0123456789abcdef";

/** An app with an admin token, a console session of it and a way to post forms and call the admin API. */
async function setup() {
  const deps = await testDeps({ keyEncryptionKey: KEK });
  const logged: Array<Record<string, unknown>> = [];
  deps.log = createLogger("error", { sink: (line) => logged.push(JSON.parse(line)) });
  const app = createApp(deps);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  const { id } = await createSession(deps, admin.info.id);
  const session = (await readSession(deps, id))!;
  const cookie = `${SESSION_COOKIE}=${id}`;
  const post = (path: string, fields: Record<string, string | string[]>) => {
    const form = new URLSearchParams({ _csrf: session.csrf });
    for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) form.append(k, one);
    return app.request(`/console/${path}`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: form,
    });
  };
  /** The console page a write redirected to, as the browser would load it (it takes the once-shown values). */
  const page = async (path: string) =>
    await (await app.request(`/console/${path}`, { headers: { cookie } })).text();
  const api = (method: string, path: string, body: unknown) =>
    app.request(`/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  /** The newest audit row of `action` from `source`. */
  const audited = async (action: string, source: "api" | "console"): Promise<AuditRow> => {
    const rows = (await deps.storage.audit.list({ action, source })).items;
    assert.ok(rows.length > 0, `no ${source} ${action} audited`);
    return rows[0];
  };
  return { deps, logged, admin, post, page, api, audited };
}

/** The once-shown secret on a console page. */
function secretOn(html: string): string | undefined {
  return /id="secret-value">([^<]+)</.exec(html)?.[1];
}

/** Every value the admin API recorded (but its status) is recorded alike by the console, and its field names too. */
function assertSameAsApi(consoleDetail: Record<string, unknown>, apiDetail: Record<string, unknown>) {
  const { status: _status, fields, ...values } = apiDetail;
  for (const [k, v] of Object.entries(values)) assert.deepEqual(consoleDetail[k], v, k);
  for (const name of fields as string[]) assert.ok((consoleDetail.fields as string[]).includes(name), name);
}

Deno.test("console sender.create and sender.update record their fields and safe values as the admin API does", async () => {
  const { deps, post, api, audited } = await setup();
  try {
    assert.equal((await post("senders", { sender_id: "console.example.org", name: "Console" })).status, 303);
    assert.equal((await api("POST", "/senders", { sender_id: "api.example.org", name: "Api" })).status, 201);
    const created = (await audited("sender.create", "console")).detail;
    assert.equal(created.sender_id, "console.example.org");
    assert.equal(created.name, "Console");
    assert.ok((created.fields as string[]).includes("callback_base_url"));
    const apiCreated = (await audited("sender.create", "api")).detail;
    assertSameAsApi(created, { ...apiCreated, sender_id: "console.example.org", name: "Console" });

    const change = { name: "Renamed", limit_minute: "30", outbound_auth_type: "bearer" };
    const done = await post("senders/console.example.org", { ...change, outbound_token: OUTBOUND_SECRET });
    assert.equal(done.status, 303);
    const patch = {
      name: "Renamed",
      limit_minute: 30,
      outbound_auth: { type: "bearer", token: OUTBOUND_SECRET },
    };
    assert.equal((await api("PATCH", "/senders/api.example.org", patch)).status, 200);
    const updated = await audited("sender.update", "console");
    assert.equal(updated.target_id, "console.example.org");
    assert.equal(updated.detail.name, "Renamed");
    assert.equal(updated.detail.limit_minute, 30);
    assert.equal(updated.detail.outbound_auth_type, "bearer");
    assertSameAsApi(updated.detail, (await audited("sender.update", "api")).detail);
    const rows = JSON.stringify((await deps.storage.audit.list({})).items);
    assert.doesNotMatch(rows, new RegExp(OUTBOUND_SECRET));
  } finally {
    deps.close();
  }
});

Deno.test("console sender settings saved from a page read before another change are refused; the other change stays", async () => {
  const { deps, post, page, api } = await setup();
  try {
    assert.equal((await post("senders", { sender_id: "s.example.org", name: "S" })).status, 303);
    const read = /name="updated_at" value="([^"]+)"/.exec(await page("senders/s.example.org"))![1];
    deps.clock.advance(1000);
    assert.equal(
      (await api("PATCH", "/senders/s.example.org", { signature_policy: "required" })).status,
      200,
    );
    const stale = await post("senders/s.example.org", { name: "Renamed", updated_at: read });
    assert.equal(stale.status, 303);
    assert.match(await page("senders/s.example.org"), /was changed after .*read them again and save/);
    const sender = await deps.storage.senders.get("s.example.org");
    assert.deepEqual([sender!.name, sender!.signature_policy], ["S", "required"]);
    // Read again, the same form saves.
    const fresh = /name="updated_at" value="([^"]+)"/.exec(await page("senders/s.example.org"))![1];
    assert.equal((await post("senders/s.example.org", { name: "Renamed", updated_at: fresh })).status, 303);
    assert.equal((await deps.storage.senders.get("s.example.org"))!.name, "Renamed");
  } finally {
    deps.close();
  }
});

Deno.test("console client, key and admin token writes record their fields, never a secret or key", async () => {
  const { deps, post, page, api, audited } = await setup();
  try {
    assert.equal((await post("senders", { sender_id: "partner.example.org" })).status, 303);
    const pem = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    assert.equal(
      (await post("senders/partner.example.org/keys", { key_id: "k1", material: pem })).status,
      303,
    );
    const keyRow = await audited("sender_key.add", "console");
    const key = keyRow.detail;
    assert.equal(key.key_id, "k1");
    assert.deepEqual(key.fields, ["key_id", "material"]);
    // Under the target the admin API records for the same action (an audit filter finds both).
    assert.deepEqual([keyRow.target_kind, keyRow.target_id], ["sender", "partner.example.org"]);
    assert.equal((await post("senders/partner.example.org/keys/k1/remove", {})).status, 303);
    const removed = await audited("sender_key.remove", "console");
    assert.deepEqual([removed.target_kind, removed.target_id], ["sender_key", "partner.example.org/k1"]);

    const fields = { sender_id: "partner.example.org", name: "OpenSPP", scope: ["registry.search"] };
    assert.equal((await post("oauth-clients", fields)).status, 303);
    const clientSecret = secretOn(await page("oauth-clients"))!;
    assert.match(clientSecret, /^dcis_/);
    const client = (await audited("client.create", "console")).detail;
    const body = { sender_id: "partner.example.org", name: "OpenSPP", scopes: ["registry.search"] };
    assert.equal((await api("POST", "/clients", body)).status, 201);
    assertSameAsApi(client, (await audited("client.create", "api")).detail);

    assert.equal((await post("admin-tokens", { role: "viewer", name: "auditor" })).status, 303);
    const adminToken = secretOn(await page("admin-tokens"))!;
    assert.match(adminToken, /^dcia_/);
    const token = (await audited("admin_token.create", "console")).detail;
    assert.deepEqual([token.role, token.name, token.fields], ["viewer", "auditor", ["role", "name"]]);

    assert.equal((await post("server-keys/rotate", { alg: "ed25519" })).status, 303);
    assert.deepEqual((await audited("server_key.rotate", "console")).detail.alg, "ed25519");

    const rows = JSON.stringify((await deps.storage.audit.list({})).items);
    for (const secret of [clientSecret, adminToken, pem.split("\n")[1]]) assert.ok(!rows.includes(secret));
  } finally {
    deps.close();
  }
});

Deno.test("a console write whose audit row cannot be written ahead is not made; one whose row cannot be completed is answered, its row left unfinished", async () => {
  const { deps, logged, post, page } = await setup();
  try {
    await post("senders", { sender_id: "partner.example.org" });
    const clients = async () => Number((await deps.sql("SELECT COUNT(*) AS n FROM oauth_clients"))[0].n);
    const form = { sender_id: "partner.example.org", scope: ["registry.search"] };
    const audit = deps.storage.audit;
    const record = audit.record;
    audit.record = () => Promise.reject(Object.assign(new Error("database is locked"), { errcode: 5 }));
    // Before: the client was created and its audit row lost.
    assert.equal((await post("oauth-clients", form)).status, 503);
    assert.equal(await clients(), 0, "not made");
    audit.record = record;

    audit.finish = () => Promise.reject(new Error("audit table unwritable"));
    const created = await post("oauth-clients", form);
    assert.equal(created.status, 303);
    assert.match(secretOn(await page("oauth-clients")) ?? "", /^dcis_/);
    assert.equal(secretOn(await page("oauth-clients")), undefined, "shown once");
    assert.equal(await clients(), 1, "one client");
    const errors = logged.filter((l) => l.msg === "audit record could not be completed: it stays unfinished");
    const [newest] = (await audit.list()).items;
    assert.deepEqual(errors.map((l) => l.id), [newest.id]);
    assert.equal(newest.action, "client.create");
    assert.deepEqual(newest.detail, { status: "unfinished" });
  } finally {
    deps.close();
  }
});
