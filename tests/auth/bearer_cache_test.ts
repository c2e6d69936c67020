/**
 * The bearer check's cached client rows (src/auth/bearer.ts): on SQLite a client's row read by one request is used
 * again by the next and confirmed in the admission's write, so a change committed in between (through the same
 * connection, another isolate's or another process's) holds for the very next request, and a request passed again
 * on a fresh read is counted once. The behaviour cases run on both backends (PostgreSQL reads the row every time).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { countCalls } from "../helpers/call_counts.ts";
import type { PgValue } from "../../src/db/pg/query.ts";
import { authenticate } from "../../src/auth/middleware.ts";

const PATH = "/dci_api/v1/test/echo";

async function setup(overrides: Record<string, string> = {}, options: { async?: boolean } = {}) {
  const deps = await testDeps(overrides);
  const alice: TestSender = await createTestSender(deps);
  const app = createApp(deps);
  app.post(
    PATH,
    async (c, next) => {
      if (options.async) c.set("action", { name: "search", sync: false } as never);
      await next();
    },
    authenticate(deps, "registry.search"),
    (c) => c.json({ auth: c.get("auth") }),
  );
  const call = async (body?: unknown) => {
    const res = await app.request(PATH, {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: typeof body === "string" ? body : JSON.stringify(
        body ?? alice.sign(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() })),
      ),
    });
    const json = await res.json();
    return {
      status: res.status,
      headers: res.headers,
      code: json?.message?.error?.code as string | undefined,
    };
  };
  return { deps, alice, call };
}

/** The requests counted against the sender in the rolling minute. */
async function counted(deps: TestDeps, senderId: string): Promise<number> {
  const [row] = await deps.sql(
    "SELECT COALESCE(SUM(count), 0) AS n FROM rate_buckets WHERE scope = 'sender' AND key = ?",
    [senderId],
  );
  return Number(row.n);
}

Deno.test("bearer cache: a change committed after a request was admitted holds for the very next request", async () => {
  const changes: Array<
    { name: string; sql: (a: TestSender) => [string, PgValue[]]; status: number; code: string }
  > = [
    {
      name: "client revoked",
      sql: (a) => ["UPDATE oauth_clients SET active = 0 WHERE client_id = ?", [a.clientId]],
      status: 401,
      code: "err.request.unauthorized",
    },
    {
      name: "sender disabled",
      sql: (a) => ["UPDATE senders SET active = 0 WHERE sender_id = ?", [a.senderId]],
      status: 401,
      code: "err.sender_id.invalid",
    },
    {
      name: "scope removed",
      sql: (
        a,
      ) => ["UPDATE oauth_clients SET scopes = 'registry.subscribe' WHERE client_id = ?", [a.clientId]],
      status: 403,
      code: "err.request.forbidden",
    },
    {
      name: "minute limit lowered to what is used",
      sql: (a) => ["UPDATE senders SET limit_minute = 1 WHERE sender_id = ?", [a.senderId]],
      status: 429,
      code: "err.request.too_many_requests",
    },
    {
      name: "the token's server key retired",
      sql: () => ["UPDATE server_keys SET status = 'retired' WHERE status IN ('active', 'published')", []],
      status: 401,
      code: "err.request.unauthorized",
    },
  ];
  for (const change of changes) {
    const { deps, alice, call } = await setup();
    try {
      assert.equal((await call()).status, 200, change.name);
      assert.equal((await call()).status, 200, change.name);
      const [sql, args] = change.sql(alice);
      await deps.sql(sql, args);
      const r = await call();
      assert.equal(r.status, change.status, change.name);
      assert.equal(r.code, change.code, change.name);
      // The refused request was not counted (a limit refusal is never counted either).
      assert.equal(await counted(deps, alice.senderId), 2, change.name);
    } finally {
      deps.close();
    }
  }
});

Deno.test("bearer cache: a request refused before its admission is refused for a revoked client first", async () => {
  const { deps, alice, call } = await setup();
  try {
    assert.equal((await call()).status, 200);
    await deps.sql("UPDATE oauth_clients SET active = 0 WHERE client_id = ?", [alice.clientId]);
    // A body that does not parse, an encrypted message: the client's refusal comes first, as on a fresh read.
    const encrypted = requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() });
    (encrypted.header as Record<string, unknown>).is_msg_encrypted = true;
    for (const body of ["{not json", "{not json", alice.sign(encrypted)]) {
      const r = await call(body);
      assert.equal(r.status, 401, JSON.stringify(body));
      assert.equal(r.code, "err.request.unauthorized");
    }
  } finally {
    deps.close();
  }
});

Deno.test({
  // PostgreSQL reads the row before the chain and not again in `dci_admit`: a change committed between the two
  // is not seen there (as before the cache).
  name: "bearer cache (SQLite): an async copy sent again is counted by a write that confirms the row",
  ignore: TEST_BACKEND === "postgres",
  fn: async () => {
    const { deps, alice, call } = await setup({}, { async: true });
    try {
      const body = alice.sign(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() }));
      // The first copy is admitted as an async request whose transaction was never stored (a 503 on accept).
      assert.equal((await call(body)).status, 200);
      // The client is revoked after the copy's first write (a replay) and before the write that counts it.
      const txns = deps.storage.transactions as { hasMessageId(s: string, m: string): Promise<boolean> };
      const hasMessageId = txns.hasMessageId.bind(txns);
      txns.hasMessageId = async (s, m) => {
        const found = await hasMessageId(s, m);
        await deps.sql("UPDATE oauth_clients SET active = 0 WHERE client_id = ?", [alice.clientId]);
        return found;
      };
      const r = await call(body);
      assert.equal(r.status, 401);
      assert.equal(r.code, "err.request.unauthorized");
      assert.equal(await counted(deps, alice.senderId), 1);
    } finally {
      deps.close();
    }
  },
});

Deno.test("bearer cache: limits changed since are the next request's, and a request run again is counted once", async () => {
  const { deps, alice, call } = await setup();
  try {
    const first = await call();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("RateLimit"), '"minute";r=59;t=60');
    await deps.sql("UPDATE senders SET limit_minute = 100 WHERE sender_id = ?", [alice.senderId]);
    const second = await call();
    assert.equal(second.status, 200);
    assert.match(second.headers.get("RateLimit-Policy") ?? "", /"minute";q=100;/);
    assert.equal(second.headers.get("RateLimit"), '"minute";r=98;t=60');
    assert.equal(await counted(deps, alice.senderId), 2);
    // A bad signature on the cached row is refused and counted once, as on a fresh read.
    const bad = alice.sign(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() }));
    (bad as { message: Record<string, unknown> }).message.transaction_id = "changed-after-signing";
    const refused = await call(bad);
    assert.equal(refused.status, 401);
    assert.equal(refused.code, "err.signature.invalid");
    assert.equal(await counted(deps, alice.senderId), 3);
  } finally {
    deps.close();
  }
});

/**
 * `fn` on a server whose database is a file in a fresh data dir, with a second connection to it (another
 * process: the CLI, another instance's isolate) and `revoke()`, which revokes alice's client through it.
 */
async function onDataDir(
  fn: (
    s: Awaited<ReturnType<typeof setup>> & { other: DatabaseSync; revoke(): void },
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dci-bearer-cache-" });
  const s = await setup({ dataDir: dir });
  const other = new DatabaseSync(`${dir}/dci.sqlite`);
  other.exec("PRAGMA busy_timeout = 5000");
  const revoke = () =>
    void other.prepare("UPDATE oauth_clients SET active = 0 WHERE client_id = ?").run(s.alice.clientId);
  try {
    await fn({ ...s, other, revoke });
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
    s.deps.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "bearer cache (SQLite): the row is read once while unchanged; a change through another connection is seen",
  ignore: TEST_BACKEND === "postgres",
  fn: () =>
    onDataDir(async ({ deps, call, revoke }) => {
      const calls = new Map<string, number>();
      countCalls(deps.storage.bearer, "bearer", calls);
      for (let i = 0; i < 3; i++) assert.equal((await call()).status, 200);
      assert.equal(calls.get("bearer.lookup"), 1, "one read, then the cached row");
      revoke();
      const r = await call();
      assert.equal(r.status, 401);
      assert.equal(r.code, "err.request.unauthorized");
      assert.equal(calls.get("bearer.lookup"), 2, "the stale row was read again before the refusal");
      // A refused row is not kept: every later request of the client reads it again.
      assert.equal((await call("{not json")).status, 401);
      assert.equal(calls.get("bearer.lookup"), 3);
    }),
});

Deno.test({
  name:
    "bearer cache (SQLite): a revoked client whose admission meets a held write lock is answered 401, not 503",
  ignore: TEST_BACKEND === "postgres",
  fn: () =>
    onDataDir(async ({ call, other, revoke }) => {
      assert.equal((await call()).status, 200);
      revoke();
      // Another process holds the write lock past the admission's wait (5 s); reads still get through.
      other.exec("BEGIN IMMEDIATE");
      const r = await call();
      assert.equal(r.status, 401);
      assert.equal(r.code, "err.request.unauthorized");
    }),
});
