/**
 * The limit on failed admin-token checks (src/admin/login_limit.ts), on a real server on loopback: the console
 * login and the admin API's bearer check, per client address (X-Forwarded-For honoured only from
 * DCI_TRUSTED_PROXIES) and for all clients, a 429 with Retry-After that ends when the failures age out (the
 * server's fake clock moves), valid logins never counted, and concurrent guesses bounded by the limit.
 */
import assert from "node:assert/strict";
import { startConsole } from "../helpers/console_browser.ts";
import { LOGIN_COOKIE } from "../../src/console/cookies.ts";

type Server = Awaited<ReturnType<typeof startConsole>>;

/** A well-formed token of an existing id with a wrong secret: its check runs scrypt, so it counts. */
const wrong = (server: Server) => `dcia_${server.adminTokenId}_${"x".repeat(43)}`;
/** A well-formed token of an id that does not exist: no row to hash against. */
const UNKNOWN = "dcia_at_0000000000000000_" + "x".repeat(43);

/** Fetches the login form as client `ip` (an X-Forwarded-For the server may or may not honour), then posts `token`. */
async function logIn(
  server: Server,
  token: string,
  ip?: string,
): Promise<{ status: number; retryAfter: string | null; text: string }> {
  const forwarded: Record<string, string> = ip ? { "x-forwarded-for": ip } : {};
  const form = await fetch(`${server.url}login`, { headers: forwarded });
  const cookie = form.headers.getSetCookie().find((c) => c.startsWith(`${LOGIN_COOKIE}=`))!.split(";")[0];
  const nonce = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  const res = await fetch(`${server.url}login`, {
    method: "POST",
    redirect: "manual",
    headers: { ...forwarded, cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: nonce, token }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
}

/** An admin API read with `token` as client `ip`; `message` is the error's, if any. */
async function adminGet(server: Server, token: string, ip?: string) {
  const res = await fetch(`${server.origin}/admin/v1/senders`, {
    headers: { authorization: `Bearer ${token}`, ...(ip ? { "x-forwarded-for": ip } : {}) },
  });
  const body = await res.json();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), error: body.message?.error };
}

/** A login page without its form's nonce (each page has its own). */
const withoutNonce = (html: string) => html.replace(/name="_csrf" value="[^"]*"/, "");

/** The failed-check slots in use (per address and for all). */
async function slotsInUse(server: Server): Promise<number> {
  const rows = await server.deps.sql(
    "SELECT COALESCE(SUM(count), 0) AS n FROM rate_buckets WHERE scope IN ('admin_fail_ip', 'admin_fail_all')",
  );
  return Number(rows[0].n);
}

Deno.test("login limit: failed console logins are refused per client address with a 429 page, valid ones never count", async () => {
  const server = await startConsole({
    adminLoginIpFailureLimit: "3",
    adminLoginFailureLimit: "100",
    trustedProxies: "127.0.0.1",
  });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal((await logIn(server, wrong(server), "198.51.100.7")).status, 401);
    }
    const refused = await logIn(server, wrong(server), "198.51.100.7");
    assert.equal(refused.status, 429);
    assert.match(refused.text, /Too many failed logins from this address\. Try again in \d+ seconds\./);
    const wait = Number(refused.retryAfter);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After ${refused.retryAfter}`);
    // While refused, even the right token is not checked from that address...
    assert.equal((await logIn(server, server.adminToken, "198.51.100.7")).status, 429);
    // ...but another address logs in, as often as it likes: a valid login gives its slot back.
    for (let i = 0; i < 5; i++) {
      assert.equal((await logIn(server, server.adminToken, "203.0.113.9")).status, 303);
    }
    // The admin API's bearer check counts and refuses with the same limit.
    const api = await adminGet(server, wrong(server), "198.51.100.7");
    assert.equal(api.status, 429);
    assert.ok(Number(api.retryAfter) >= 1);
    // The failures age out of the rolling minute.
    server.deps.clock.advance(61_000);
    assert.equal((await logIn(server, server.adminToken, "198.51.100.7")).status, 303);
    assert.equal((await adminGet(server, server.viewerToken, "198.51.100.7")).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("login limit: failures from all clients together refuse every new check until they age out", async () => {
  const server = await startConsole({
    adminLoginIpFailureLimit: "10",
    adminLoginFailureLimit: "4",
    trustedProxies: "127.0.0.1",
  });
  try {
    // The viewer's token verifies once, before the flood.
    assert.equal((await logIn(server, server.viewerToken, "192.0.2.9")).status, 303);
    for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
      assert.equal((await logIn(server, wrong(server), ip)).status, 401);
    }
    assert.equal(
      (await adminGet(server, wrong(server), "192.0.2.4")).status,
      401,
      "the admin API's failure counts too",
    );
    const refused = await logIn(server, server.adminToken, "192.0.2.5");
    assert.equal(refused.status, 429);
    assert.match(refused.text, /Too many failed logins to this server/);
    assert.equal((await adminGet(server, server.adminToken, "192.0.2.5")).status, 429);
    // A token verified here within the day is still checked (against its address's limit only): knowing a token
    // id (not a secret) is not enough to keep every operator out.
    assert.equal((await logIn(server, server.viewerToken, "192.0.2.6")).status, 303);
    assert.equal((await adminGet(server, server.viewerToken, "192.0.2.7")).status, 200);
    server.deps.clock.advance(61_000);
    assert.equal((await logIn(server, server.adminToken, "192.0.2.5")).status, 303);
  } finally {
    await server.close();
  }
});

Deno.test("login limit: concurrent guesses from one address run at most the limit's worth of token checks", async () => {
  const server = await startConsole({ adminLoginIpFailureLimit: "3", trustedProxies: "127.0.0.1" });
  try {
    const statuses = (await Promise.all(Array.from({ length: 12 }, () =>
      logIn(server, wrong(server), "198.51.100.20"))))
      .map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 3, statuses.join(" "));
    assert.equal(statuses.filter((s) => s === 429).length, 9, statuses.join(" "));
  } finally {
    await server.close();
  }
});

Deno.test("login limit: parallel admin API requests with one valid token are not refused as failed checks", async () => {
  const server = await startConsole({ adminLoginIpFailureLimit: "3", trustedProxies: "127.0.0.1" });
  try {
    // A script's 16 workers with one token, before any check of it finished: they share one check (one slot).
    const answers = await Promise.all(
      Array.from({ length: 16 }, () => adminGet(server, server.adminToken, "198.51.100.30")),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(16).fill(200),
      JSON.stringify(answers.find((a) => a.error)),
    );
    assert.equal(await slotsInUse(server), 0, "a verified token's slot is given back");
  } finally {
    await server.close();
  }
});

Deno.test("login limit: X-Forwarded-For from a peer that is not a trusted proxy does not pick the counted address", async () => {
  const server = await startConsole({ adminLoginIpFailureLimit: "2" }); // no trusted proxies
  try {
    assert.equal((await logIn(server, wrong(server), "198.51.100.1")).status, 401);
    assert.equal((await logIn(server, wrong(server), "198.51.100.2")).status, 401);
    // A third "address" is still the loopback peer, over its limit.
    assert.equal((await logIn(server, wrong(server), "198.51.100.3")).status, 429);
  } finally {
    await server.close();
  }
});

Deno.test("login limit: malformed tokens and unknown ids hash nothing and take no slot", async () => {
  const server = await startConsole({
    adminLoginIpFailureLimit: "3",
    adminLoginFailureLimit: "4",
    trustedProxies: "127.0.0.1",
  });
  try {
    for (let i = 0; i < 10; i++) {
      for (const token of ["x", UNKNOWN]) {
        assert.equal((await adminGet(server, token, "198.51.100.7")).status, 401);
        assert.equal((await logIn(server, token, "198.51.100.7")).status, 401);
      }
      assert.equal((await logIn(server, "", "198.51.100.7")).status, 401);
      assert.equal((await logIn(server, "y".repeat(600), "198.51.100.7")).status, 401);
    }
    // 100 from 10 addresses: not one of them counts for all either.
    for (let a = 1; a <= 10; a++) {
      for (let i = 0; i < 10; i++) {
        assert.equal((await adminGet(server, UNKNOWN, `192.0.2.${a}`)).status, 401);
      }
    }
    assert.equal(await slotsInUse(server), 0);
    assert.equal((await logIn(server, server.viewerToken, "198.51.100.7")).status, 303);
    assert.equal((await adminGet(server, server.viewerToken, "198.51.100.7")).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("login limit: with DCI_ADMIN_TOKEN set, guesses at the phrase count against their address, never everyone's", async () => {
  const phrase = "operator-chosen-phrase-0123456789";
  const server = await startConsole({
    adminToken: phrase,
    adminLoginIpFailureLimit: "3",
    adminLoginFailureLimit: "4",
    trustedProxies: "127.0.0.1",
  });
  try {
    await server.deps.storage.adminTokens.ensureEnv(phrase, new Date(server.deps.clock.now()).toISOString());
    assert.equal((await adminGet(server, phrase, "198.51.100.7")).status, 200);
    for (const guess of ["operator-chosen-phrase-0000000000", "x"]) {
      assert.equal((await adminGet(server, guess, "198.51.100.7")).status, 401);
    }
    assert.equal((await logIn(server, "operator-chosen-phrase-1", "198.51.100.7")).status, 401);
    const refused = await adminGet(server, "operator-chosen-phrase-2", "198.51.100.7");
    assert.equal(refused.status, 429);
    assert.equal((await logIn(server, phrase, "198.51.100.7")).status, 429, "that address is over its limit");
    // Other addresses: the phrase works, and guesses from them were not counted for everyone.
    for (let a = 1; a <= 3; a++) {
      assert.equal((await adminGet(server, "guess", `192.0.2.${a}`)).status, 401);
    }
    assert.equal((await logIn(server, phrase, "203.0.113.9")).status, 303);
    const all = await server.deps.sql(
      "SELECT COUNT(*) AS n FROM rate_buckets WHERE scope = 'admin_fail_all'",
    );
    assert.equal(Number(all[0].n), 0);
    // Token ids and legacy tokens are no guesses at the phrase: an unknown id takes no slot, as before.
    for (let i = 0; i < 5; i++) assert.equal((await adminGet(server, UNKNOWN, "203.0.113.9")).status, 401);
    assert.equal((await adminGet(server, phrase, "203.0.113.9")).status, 200);
  } finally {
    await server.close();
  }
});

Deno.test("login limit: over the limit, a malformed token or an unknown id is answered as a wrong secret is", async () => {
  const server = await startConsole({ adminLoginIpFailureLimit: "2", trustedProxies: "127.0.0.1" });
  try {
    for (let i = 0; i < 2; i++) {
      assert.equal((await logIn(server, wrong(server), "198.51.100.8")).status, 401);
    }
    const counted = await adminGet(server, wrong(server), "198.51.100.8");
    assert.equal(counted.status, 429);
    const page = await logIn(server, wrong(server), "198.51.100.8");
    assert.equal(page.status, 429);
    for (const token of ["x", UNKNOWN, `dcia_${"M".repeat(43)}`]) {
      const api = await adminGet(server, token, "198.51.100.8");
      assert.deepEqual([api.status, api.error], [429, counted.error], token);
      assert.ok(Number(api.retryAfter) >= 1);
      const form = await logIn(server, token, "198.51.100.8");
      assert.deepEqual([form.status, withoutNonce(form.text)], [429, withoutNonce(page.text)], token);
    }
    assert.equal((await logIn(server, "", "198.51.100.8")).status, 429);
    // Another address: every one of these is a plain 401.
    for (const token of ["x", UNKNOWN, wrong(server)]) {
      assert.equal((await adminGet(server, token, "203.0.113.1")).status, 401);
    }
  } finally {
    await server.close();
  }
});
