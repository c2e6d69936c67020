/**
 * The audit log through the admin API: every write kind is recorded once it succeeded, with the admin token's
 * id (or `env` for DCI_ADMIN_TOKEN), never a secret; GET /admin/v1/audit filters and pages by keyset; the CSV
 * export neutralises formulas; retention deletes what is past DCI_AUDIT_RETENTION_DAYS.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { purgeExpiredAudit } from "../../src/audit/retention.ts";
import { auditValues, MAX_DETAIL_CHARS } from "../../src/audit/log.ts";
import { createOutboundClient } from "../../src/net/outbound.ts";
import { offlineResolver } from "../helpers/no_egress.ts";

type Json = Record<string, unknown>;
const KEK = Buffer.from(randomBytes(32)).toString("base64");
const BEARER_SECRET = "partner-outbound-bearer-0123456789abcdef";
const SENDER = "https://audit.example/dci";

async function setup(overrides: Record<string, string> = {}) {
  const deps = await testDeps({ keyEncryptionKey: KEK, ...overrides });
  // Callback URLs are checked by resolving their host: answered here, no query sent (and nothing is delivered).
  deps.http = createOutboundClient(deps.config, {
    resolver: offlineResolver({ "audit.example": ["192.0.43.10"] }),
  });
  const app = createApp(deps);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  const call = async (method: string, path: string, body?: unknown, token = admin.token) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(method === "GET" ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = {};
    try {
      parsed = JSON.parse(text);
    } catch { /* CSV or empty */ }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return { deps, app, admin, call };
}

/** A transaction whose callback failed, ready for an operator retry. */
async function failedTransaction(deps: TestDeps, senderId: string, now: string): Promise<string> {
  const correlationId = crypto.randomUUID();
  const { row } = await deps.storage.transactions.insert({
    sender_id: senderId,
    transaction_id: "t-1",
    dedupe_key: "t-1",
    message_id: "m-1",
    correlation_id: correlationId,
    action: "search",
    registry: "social",
    callback_url: "https://audit.example/cb/on-search",
    request_header: "{}",
    request_message: "{}",
    ack: "{}",
    reference_ids: [],
    now,
  });
  await deps.sql(
    `UPDATE transactions SET state = 'callback_failed', outcome = 'succ', last_error = 'HTTP 500' WHERE id = ?`,
    [row.id],
  );
  return correlationId;
}

Deno.test("admin API writes are audited with the admin token id, each kind with its action and target", async () => {
  const { deps, admin, call } = await setup();
  try {
    const ok = (r: { status: number; text: string }, status: number) =>
      assert.equal(r.status, status, r.text);
    ok(
      await call("POST", "/senders", {
        sender_id: SENDER,
        name: "Audit partner",
        limit_minute: 100,
        callback_base_url: "https://audit.example/cb",
        outbound_auth: { type: "bearer", token: BEARER_SECRET },
      }),
      201,
    );
    const id = encodeURIComponent(SENDER);
    ok(await call("PATCH", `/senders/${id}`, { limit_day: 5000 }), 200);
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
    ok(await call("POST", `/senders/${id}/keys`, { key_id: "k1", pem }), 201);
    ok(await call("DELETE", `/senders/${id}/keys/k1`), 204);
    ok(await call("POST", `/senders/${id}/disable`), 200);
    ok(await call("POST", `/senders/${id}/enable`), 200);
    const client = await call("POST", "/clients", { sender_id: SENDER, name: "audit client" });
    ok(client, 201);
    const clientId = String(client.body.client_id);
    const rotated = await call("POST", `/clients/${clientId}/rotate-secret`);
    ok(rotated, 200);
    ok(await call("POST", `/clients/${clientId}/revoke`), 200);
    const sub = {
      sender_id: SENDER,
      code: "sub-audit-1",
      subscribe_criteria: {
        reg_event_type: "REGISTER",
        notify_record_type: "Member",
        filter_type: "idtype-value",
        filter: { type: "UIN", value: "TEST-001" },
      },
    };
    ok(await call("POST", "/subscriptions", sub), 201);
    ok(await call("POST", "/subscriptions/sub-audit-1/cancel"), 200);
    ok(await call("POST", "/subscriptions", { ...sub, code: "sub-audit-2" }), 201);
    await deps.sql("UPDATE subscriptions SET state = 'pending' WHERE code = 'sub-audit-2'");
    ok(await call("POST", "/subscriptions/sub-audit-2/approve"), 200);
    ok(await call("POST", "/registrants", { id: "AU1", name: { given_name: "Ana", surname: "Phiri" } }), 201);
    ok(await call("PATCH", "/registrants/AU1", { sex: "female" }), 200);
    ok(await call("DELETE", "/registries/social/registrants/AU1"), 200);
    const corr = await failedTransaction(deps, SENDER, new Date(deps.clock.now() + 1000).toISOString());
    ok(await call("POST", `/transactions/${corr}/retry`), 202);
    ok(await call("DELETE", `/senders/${id}`), 204);

    const page = await call("GET", "/audit?limit=100");
    ok(page, 200);
    const items = (page.body.items as Json[]).reverse();
    assert.deepEqual(items.map((i) => `${i.action} ${i.target_kind}:${i.target_id}`), [
      `sender.create sender:${SENDER}`,
      `sender.update sender:${SENDER}`,
      `sender_key.add sender:${SENDER}`,
      `sender_key.remove sender_key:${SENDER}/k1`,
      `sender.disable sender:${SENDER}`,
      `sender.enable sender:${SENDER}`,
      `client.create client:${clientId}`,
      `client.rotate_secret client:${clientId}`,
      `client.revoke client:${clientId}`,
      "subscription.create subscription:sub-audit-1",
      "subscription.cancel subscription:sub-audit-1",
      "subscription.create subscription:sub-audit-2",
      "subscription.approve subscription:sub-audit-2",
      "registrant.create registrant:AU1",
      "registrant.update registrant:AU1",
      "registrant.delete registrant:AU1",
      `transaction.retry transaction:${corr}`,
      `sender.delete sender:${SENDER}`,
    ]);
    for (const i of items) {
      assert.equal(i.source, "api");
      assert.equal(i.actor_kind, "token");
      assert.equal(i.actor, admin.info.id);
    }
    assert.deepEqual(items[0].detail, {
      fields: ["sender_id", "name", "limit_minute", "callback_base_url", "outbound_auth"],
      sender_id: SENDER,
      name: "Audit partner",
      limit_minute: 100,
      outbound_auth_type: "bearer",
      status: 201,
    });
    assert.deepEqual(items[13].detail, { fields: ["id", "name"], status: 201 }, "no personal data values");
    assert.equal((items[15].detail as Json).registry, "social");

    const stored = JSON.stringify(await deps.sql("SELECT * FROM audit_log"));
    const secrets = [
      BEARER_SECRET,
      String(client.body.client_secret),
      String(rotated.body.client_secret),
      admin.token,
      pem.split("\n")[1],
    ];
    for (const s of secrets) {
      assert.ok(!stored.includes(s), `the audit log holds no secret (${s.slice(0, 8)}…)`);
    }
  } finally {
    deps.close();
  }
});

Deno.test("an API import is audited under its registry with its job id; a failed JWKS fetch (502, kept on the sender) is audited", async () => {
  const { deps, app, admin, call } = await setup();
  try {
    const posted = await app.request("/admin/v1/registries/crvs/imports?file_name=people.ndjson", {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/x-ndjson" },
      body: '{"id":"C1"}\n',
    });
    assert.equal(posted.status, 202, await posted.clone().text());
    const job = await posted.json();
    // A JWKS URL the outbound guard refuses (loopback): no request leaves, the fetch fails and is recorded.
    assert.equal(
      (await call("POST", "/senders", { sender_id: "jw", jwks_url: "https://127.0.0.1:9/jwks" })).status,
      201,
    );
    const fetched = await call("POST", "/senders/jw/keys/fetch");
    assert.equal(fetched.status, 502, fetched.text);
    assert.equal(fetched.body.ok, false);
    const items = (await deps.storage.audit.list()).items.reverse();
    assert.deepEqual(items.map((i) => [i.action, i.target_kind, i.target_id, i.detail]), [
      ["registry.import", "registry", "crvs", { status: 202, registry: "crvs", job_id: job.id }],
      ["sender.create", "sender", "jw", { fields: ["sender_id", "jwks_url"], sender_id: "jw", status: 201 }],
      ["sender_key.fetch", "sender", "jw", { status: 502, ok: false }],
    ]);
  } finally {
    deps.close();
  }
});

Deno.test("auditWrites() records nothing for reads, refused writes and viewer attempts", async () => {
  const { deps, call } = await setup();
  try {
    const viewer = await deps.storage.adminTokens.create({ role: "viewer" });
    assert.equal((await call("GET", "/senders")).status, 200);
    assert.equal((await call("POST", "/senders", { sender_id: "v" }, viewer.token)).status, 403);
    assert.equal((await call("PATCH", "/senders/nobody", { limit_day: 1 })).status, 404);
    assert.equal((await call("POST", "/senders", { sender_id: 5 })).status, 400);
    assert.deepEqual((await deps.storage.audit.list()).items, []);
  } finally {
    deps.close();
  }
});

Deno.test("an admin write whose audit row cannot be written ahead is refused 503 and not made; one never completed leaves it unfinished; a failed one (5xx) is kept", async () => {
  const { deps, call } = await setup();
  try {
    const audit = deps.storage.audit;
    const record = audit.record;
    audit.record = () => Promise.reject(Object.assign(new Error("database is locked"), { errcode: 5 }));
    // Before: the sender was created and its audit row lost.
    const refused = await call("POST", "/senders", { sender_id: "unaudited" });
    assert.equal(refused.status, 503, refused.text);
    assert.ok(refused.headers.get("retry-after"));
    assert.equal((await call("GET", "/senders/unaudited")).status, 404, "not made");
    audit.record = record;
    // The write done, its row never completed (as when the process stops between): the row says what began.
    const finish = audit.finish;
    audit.finish = () => Promise.reject(new Error("stopped"));
    assert.equal((await call("POST", "/senders", { sender_id: "cut-short" })).status, 201);
    const [row] = (await audit.list()).items;
    assert.equal(row.action, "POST /admin/v1/senders");
    assert.deepEqual(row.detail, { status: "unfinished" });
    assert.equal(row.actor_kind, "token");
    // A write that failed (500) may have written part: its row is kept, with that status.
    audit.finish = finish;
    const senders = deps.storage.senders;
    senders.insert = () => Promise.reject(new Error("boom"));
    assert.equal((await call("POST", "/senders", { sender_id: "failed" })).status, 500);
    const [failed] = (await audit.list()).items;
    assert.equal(failed.action, "sender.create");
    assert.equal(failed.detail.status, 500);
  } finally {
    deps.close();
  }
});

Deno.test("a write with DCI_ADMIN_TOKEN is audited with actor kind env and the env token's id", async () => {
  const envToken = "env-bootstrap-token-0123456789abcdef";
  const { deps, call } = await setup({ adminToken: envToken });
  try {
    await deps.storage.adminTokens.ensureEnv(envToken);
    const [{ id: envId }] = await deps.sql("SELECT id FROM admin_tokens WHERE source = 'env'");
    assert.equal((await call("POST", "/senders", { sender_id: "env-made" }, envToken)).status, 201);
    const [row] = (await deps.storage.audit.list()).items;
    assert.equal(row.actor_kind, "env");
    assert.equal(row.actor, envId);
    assert.equal(row.action, "sender.create");
    assert.ok(!JSON.stringify(await deps.sql("SELECT * FROM audit_log")).includes(envToken));
  } finally {
    deps.close();
  }
});

Deno.test("GET /admin/v1/audit filters by actor, action, target and time, and pages by keyset without gaps", async () => {
  const { deps, call } = await setup();
  try {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 25; i++) {
      await deps.storage.audit.record({
        source: i % 2 ? "cli" : "api",
        actor: i % 2 ? { kind: "cli", id: "alice" } : { kind: "token", id: "at_0000000000000001" },
        action: i % 5 === 0 ? "sender.delete" : "sender.update",
        target: { kind: "sender", id: `s${i % 3}` },
      }, t0 + i * 60_000);
    }
    const seen: number[] = [];
    let cursor: unknown = undefined;
    do {
      const r = await call("GET", `/audit?limit=7${cursor ? `&before=${cursor}` : ""}`);
      assert.equal(r.status, 200, r.text);
      seen.push(...(r.body.items as Json[]).map((i) => Number(i.id)));
      cursor = r.body.next_before;
    } while (cursor !== null);
    assert.equal(seen.length, 25);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), "newest first");
    assert.equal(new Set(seen).size, 25, "no row twice");

    const q = async (query: string) =>
      ((await call("GET", `/audit?limit=100&${query}`)).body.items as Json[]).map((i) => i.id);
    assert.equal((await q("actor=alice")).length, 12);
    assert.equal((await q("action=sender.delete")).length, 5);
    assert.equal((await q("target_kind=sender&target_id=s1")).length, 8);
    assert.equal((await q("source=cli&action=sender.delete")).length, 2);
    assert.equal(
      (await q(
        `since=${new Date(t0 + 10 * 60_000).toISOString()}&until=${new Date(t0 + 20 * 60_000).toISOString()}`,
      ))
        .length,
      10,
    );
    assert.equal((await call("GET", "/audit?since=yesterday")).status, 400);
    assert.equal((await call("GET", "/audit?limit=5000")).status, 400);
  } finally {
    deps.close();
  }
});

Deno.test("the audit CSV export quotes fields and neutralises cells a spreadsheet would run as formulas", async () => {
  const { deps, call } = await setup();
  try {
    await deps.storage.audit.record({
      source: "cli",
      actor: { kind: "cli", id: '=HYPERLINK("http://evil")' },
      action: "sender.update",
      target: { kind: "sender", id: "+cmd|' /C calc'!A0" },
      detail: { name: "-2+3", note: "@SUM(A1)" },
    }, Date.parse("2026-02-01T00:00:00Z"));
    await deps.storage.audit.record({
      source: "api",
      actor: { kind: "token", id: "at_1" },
      action: "sender.create",
      target: { kind: "sender", id: "a,b" },
    }, Date.parse("2026-02-01T00:01:00Z"));
    const csv = await call("GET", "/audit.csv");
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type")!, /^text\/csv/);
    assert.match(csv.headers.get("content-disposition")!, /attachment; filename="audit-.*\.csv"/);
    const lines = csv.text.trimEnd().split("\r\n");
    assert.equal(lines[0], "id,at,source,actor_kind,actor,action,target_kind,target_id,detail");
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^2,2026-02-01T00:01:00.000Z,api,token,at_1,sender.create,sender,"a,b",\{\}$/);
    assert.ok(lines[2].includes(`'=HYPERLINK`), lines[2]);
    assert.ok(lines[2].includes(`'+cmd|`), lines[2]);
    for (const cell of lines[2].split(",")) assert.doesNotMatch(cell.replace(/^"/, ""), /^[=+\-@]/, cell);
    const same = await call("GET", "/audit?format=csv");
    assert.equal(same.text, csv.text);
    const filtered = await call("GET", "/audit.csv?actor=at_1");
    assert.equal(filtered.text.trimEnd().split("\r\n").length, 2);
  } finally {
    deps.close();
  }
});

Deno.test("purgeExpiredAudit() deletes entries older than DCI_AUDIT_RETENTION_DAYS and keeps the rest", async () => {
  const { deps } = await setup({ auditRetentionDays: "30" });
  try {
    const now = deps.clock.now();
    const day = 86_400_000;
    for (const age of [400, 31, 29, 0]) {
      await deps.storage.audit.record({
        source: "api",
        actor: { kind: "token", id: "at_1" },
        action: `age.${age}`,
      }, now - age * day);
    }
    assert.equal(await purgeExpiredAudit(deps), 2);
    assert.deepEqual((await deps.storage.audit.list()).items.map((i) => i.action), ["age.0", "age.29"]);
    assert.equal(await purgeExpiredAudit(deps), 0);
  } finally {
    deps.close();
  }
});

/** The detail of an audit row as stored (bounded by auditValues). */
function storedDetail(detail: Record<string, unknown>) {
  return JSON.parse(
    auditValues({ source: "api", actor: { kind: "token", id: "t" }, action: "a", detail }, 0)[7],
  );
}

Deno.test("a detail over 1,024 characters drops its longest values first and keeps the field names and short values", () => {
  const fields = Array.from({ length: 13 }, (_, i) => `field_${i}`);
  const detail = {
    fields,
    sender_id: "s".repeat(200),
    name: "n".repeat(200),
    callback_url_mode: "exact",
    limit_minute: 60,
    status: 201,
    scopes: Array.from({ length: 16 }, (_, i) => `scope.number.${i}.${"x".repeat(20)}`),
  };
  const stored = storedDetail(detail);
  assert.ok(JSON.stringify(stored).length <= MAX_DETAIL_CHARS);
  // The scopes list (the longest value) went; the rest fits.
  assert.deepEqual(stored, {
    fields,
    sender_id: "s".repeat(200),
    name: "n".repeat(200),
    callback_url_mode: "exact",
    limit_minute: 60,
    status: 201,
    truncated: true,
  });
  // Only names left when even they do not fit with anything else: as many as fit.
  const many = { fields: Array.from({ length: 32 }, (_, i) => `${"f".repeat(60)}${i}`) };
  const names = storedDetail(many);
  assert.equal(names.truncated, true);
  assert.ok(names.fields.length > 5 && names.fields.length < 32);
  assert.deepEqual(names.fields, many.fields.slice(0, names.fields.length));
});
