/**
 * Auth benchmark: Ed25519 and RSA-2048 signature verifications per second (node:crypto, cached KeyObjects), and
 * the time the whole auth chain (bearer JWT + SQLite client check + envelope signature + rate limit + replay
 * insert) adds to one request, measured in-process through createApp(deps).request, and access tokens alone
 * (issue, first verification, cached verification). Each cost is given as wall time and as process CPU time
 * (all threads, WebCrypto's included), which other processes on a shared machine do not inflate.
 * Sizes: AUTH_BENCH_VERIFY (default 2000; full run 20000), AUTH_BENCH_REQUESTS (default 500; full run 5000).
 */
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { Buffer } from "node:buffer";
import { cpuUsage } from "node:process";
import { closeDeps, openDeps } from "../src/deps.ts";
import { testConfig } from "../src/config.ts";
import { silentLogger } from "../src/obs/log.ts";
import { createApp } from "../src/app.ts";
import { authenticate } from "../src/auth/middleware.ts";
import { createTestSender } from "../tests/helpers/auth.ts";
import { issueAccessToken, verifyAccessToken } from "../src/auth/jwt.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";

const VERIFY_N = Number(Deno.env.get("AUTH_BENCH_VERIFY") ?? 2000);
const REQ_N = Number(Deno.env.get("AUTH_BENCH_REQUESTS") ?? 500);

/** Wall and CPU time per item of running `fn` over `items`, in ms. */
async function cost<T>(items: T[], fn: (item: T) => unknown): Promise<{ wall: number; cpu: number }> {
  const c0 = cpuUsage();
  const t0 = performance.now();
  for (const item of items) await fn(item);
  const c = cpuUsage(c0);
  return { wall: (performance.now() - t0) / items.length, cpu: (c.user + c.system) / 1000 / items.length };
}

function verifyRate(kind: "ed25519" | "rsa"): number {
  const { privateKey, publicKey } = kind === "ed25519"
    ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const data = Buffer.from("(created): 1\n(expires): 2\ndigest: " + "A".repeat(44));
  const hash = kind === "ed25519" ? null : "sha256";
  const sig = sign(hash, data, privateKey);
  for (let i = 0; i < 100; i++) verify(hash, data, publicKey, sig);
  const t0 = performance.now();
  for (let i = 0; i < VERIFY_N; i++) {
    if (!verify(hash, data, publicKey, sig)) throw new Error("verify failed");
  }
  return VERIFY_N / ((performance.now() - t0) / 1000);
}

async function chainCost(alg: "ed25519" | "rsa-sha256") {
  const config = testConfig({ rateLimitMinute: "10000000", rateLimitDay: "1000000000" });
  const deps = await openDeps(config, { log: silentLogger });
  try {
    const alice = await createTestSender(deps, { alg });
    const app = createApp(deps);
    app.post("/dci_api/v1/bench/open", (c) => c.json({ ok: true }));
    app.post("/dci_api/v1/bench/auth", authenticate(deps, "registry.search"), (c) => c.json({ ok: true }));
    const bodies = Array.from(
      { length: REQ_N },
      () =>
        JSON.stringify(
          alice.sign(requestEnvelope(alice.senderId, { search_request: [{ reference_id: "r1" }] })),
        ),
    );
    const run = (path: string) =>
      cost(bodies, async (body) => {
        const res = await app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", ...alice.headers() },
          body,
        });
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      });
    await run("/dci_api/v1/bench/open");
    const open = await run("/dci_api/v1/bench/open");
    const auth = await run("/dci_api/v1/bench/auth");
    return { open, auth };
  } finally {
    closeDeps(deps);
  }
}

/** Access tokens alone: issuing, verifying a token seen for the first time, and verifying it again (cached). */
async function tokenCost(alg: "ed25519" | "rsa-sha256") {
  const deps = await openDeps(testConfig(), { log: silentLogger });
  try {
    if (alg !== "ed25519") deps.keys.rotate(alg);
    const input = { senderId: "bench", clientId: "bench-client", scopes: ["registry.search"] };
    for (let i = 0; i < 50; i++) await verifyAccessToken(deps, (await issueAccessToken(deps, input)).token);
    const tokens: string[] = [];
    const issue = await cost(Array(REQ_N).fill(input), async (i) => {
      tokens.push((await issueAccessToken(deps, i)).token);
    });
    const first = await cost(tokens, (token) => verifyAccessToken(deps, token));
    const cached = await cost(tokens, (token) => verifyAccessToken(deps, token));
    return { issue, first, cached };
  } finally {
    closeDeps(deps);
  }
}

const ed = verifyRate("ed25519");
const rsa = verifyRate("rsa");
const chainEd = await chainCost("ed25519");
const chainRsa = await chainCost("rsa-sha256");
const tokEd = await tokenCost("ed25519");
const tokRsa = await tokenCost("rsa-sha256");
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
type Cost = { wall: number; cpu: number };
const row = (measure: string, c: Cost) => ({ measure, wall: us(c.wall), cpu: us(c.cpu) });
const minus = (a: Cost, b: Cost): Cost => ({ wall: a.wall - b.wall, cpu: a.cpu - b.cpu });
console.log(`auth benchmark (verify n=${VERIFY_N}, requests n=${REQ_N}, one isolate)`);
console.table([
  { measure: "Ed25519 verify / s", wall: Math.round(ed) },
  { measure: "RSA-2048 verify / s", wall: Math.round(rsa) },
  row("request without auth (mean)", chainEd.open),
  row("request with auth chain, Ed25519 (mean)", chainEd.auth),
  row("auth chain adds, Ed25519", minus(chainEd.auth, chainEd.open)),
  row("request with auth chain, RSA-2048 (mean)", chainRsa.auth),
  row("auth chain adds, RSA-2048", minus(chainRsa.auth, chainRsa.open)),
  row("access token issue, EdDSA (mean)", tokEd.issue),
  row("access token verify first time, EdDSA (mean)", tokEd.first),
  row("access token verify cached, EdDSA (mean)", tokEd.cached),
  row("access token issue, RS256 (mean)", tokRsa.issue),
  row("access token verify first time, RS256 (mean)", tokRsa.first),
  row("access token verify cached, RS256 (mean)", tokRsa.cached),
]);
