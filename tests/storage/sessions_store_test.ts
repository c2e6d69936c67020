/** The console session store, the same contract on both backends. */
import { deepEqual, equal } from "node:assert/strict";
import { backendSqlTest } from "../helpers/storage.ts";
import type { Storage } from "../../src/db/storage.ts";

const T0 = Date.parse("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;

async function token(s: Storage, role: "admin" | "viewer" = "admin") {
  return (await s.adminTokens.create({ role, name: `${role} of the test` })).info;
}

backendSqlTest("session store: a session is read while live, with its token's name and role", async (s) => {
  const t = await token(s, "viewer");
  await s.sessions.create("h1", t.id, T0, T0 + HOUR);
  deepEqual(await s.sessions.read("h1", T0 + HOUR - 1), {
    token_id: t.id,
    expires_at: T0 + HOUR,
    name: "viewer of the test",
    role: "viewer",
  });
  equal(await s.sessions.read("h1", T0 + HOUR), undefined, "expired at expires_at");
  equal(await s.sessions.read("h2", T0), undefined);
  equal(await s.sessions.read("' OR '1'='1", T0), undefined);
});

backendSqlTest("session store: revoking the admin token or ending the session ends it at once", async (s) => {
  const t = await token(s);
  const u = await token(s);
  await s.sessions.create("a", t.id, T0, T0 + HOUR);
  await s.sessions.create("b", u.id, T0, T0 + HOUR);
  await s.adminTokens.revoke(t.id);
  equal(await s.sessions.read("a", T0), undefined);
  equal((await s.sessions.read("b", T0))?.token_id, u.id);
  await s.sessions.end("b");
  equal(await s.sessions.read("b", T0), undefined);
  await s.sessions.end("b"); // ending twice is harmless
});

backendSqlTest("session store: create removes the sessions expired by then, and only those", async (s, f) => {
  const t = await token(s);
  await s.sessions.create("old", t.id, T0, T0 + HOUR);
  await s.sessions.create("live", t.id, T0 + HOUR / 2, T0 + 2 * HOUR);
  await s.sessions.create("new", t.id, T0 + HOUR, T0 + 3 * HOUR);
  const rows = await f.sql.all("SELECT id_hash, created_at FROM console_sessions ORDER BY id_hash");
  deepEqual(rows.map((r) => [r.id_hash, r.created_at]), [["live", T0 + HOUR / 2], ["new", T0 + HOUR]]);
});

backendSqlTest(
  "session store: what a write keeps is taken once, by one of two pages loading at once",
  async (s, f) => {
    const t = await token(s);
    await s.sessions.create("h", t.id, T0, T0 + HOUR);
    equal(await s.sessions.take("h"), undefined, "nothing kept yet");
    await s.sessions.keep("h", { flash: '{"kind":"ok","text":"done"}', once: null });
    await s.sessions.keep("h", { flash: '{"kind":"ok","text":"again"}', once: "c2VhbGVk" });
    deepEqual(await s.sessions.take("h"), { flash: '{"kind":"ok","text":"again"}', once: "c2VhbGVk" });
    equal(await s.sessions.take("h"), undefined);

    await s.sessions.keep("h", { flash: null, once: "b25jZQ==" });
    const other = f.twin();
    const both = await Promise.all([s.sessions.take("h"), other.sessions.take("h"), s.sessions.take("h")]);
    deepEqual(both.filter((v) => v !== undefined), [{ flash: null, once: "b25jZQ==" }]);

    await s.sessions.keep("h", { flash: null, once: null });
    equal(await s.sessions.take("h"), undefined);
    equal(await s.sessions.take("unknown"), undefined);
  },
);

backendSqlTest(
  "session store: counts are the dashboard's active senders, live OAuth clients and admin tokens",
  async (s, f) => {
    deepEqual(await s.sessions.counts(), { senders: 0, clients: 0, adminTokens: 0 });
    const at = "2026-01-01T00:00:00.000Z";
    for (const [id, active] of [["s1", 1], ["s2", 1], ["s3", 0]] as const) {
      await f.sql.all(
        "INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        id,
        id,
        active,
        at,
        at,
      );
    }
    for (const [id, revoked] of [["c1", null], ["c2", at]] as const) {
      await f.sql.all(
        `INSERT INTO oauth_clients (client_id, sender_id, secret_hash, scopes, created_at, revoked_at)
       VALUES (?, 's1', 'h', 'search', ?, ?)`,
        id,
        at,
        revoked,
      );
    }
    const t = await token(s);
    await token(s, "viewer");
    await s.adminTokens.revoke(t.id);
    deepEqual(await s.sessions.counts(), { senders: 2, clients: 1, adminTokens: 1 });
  },
);
