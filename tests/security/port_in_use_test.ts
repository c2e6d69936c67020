/**
 * Item 11: a second server on a port the first one holds refuses to start (exit 1, the message names the port)
 * instead of joining it through SO_REUSEPORT and taking half its connections.
 */
import assert from "node:assert/strict";
import { startServerProcess } from "../helpers/server.ts";
import { RUN_FLAGS } from "../helpers/runtime.ts";
import { testDeps } from "../helpers/deps.ts";
import { startServer } from "../../src/server.ts";
import { PortInUseError } from "../../src/net/port_guard.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Runs `main.ts serve` until it exits or logs "listening" (then it is stopped): which one happened. */
async function secondServer(port: number, env: Record<string, string> = {}) {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-port-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...RUN_FLAGS, MAIN, "serve"],
    env: {
      DCI_PORT: String(port),
      DCI_HOST: "127.0.0.1",
      DCI_DATA_DIR: dataDir,
      DCI_LOG_LEVEL: "info",
      DCI_SEED_DEMO: "false",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let listened = false;
  let out = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    out += chunk;
    if (/"msg":"listening"/.test(out)) {
      listened = true;
      child.kill("SIGTERM");
    }
  }
  const status = await child.status;
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  return { listened, code: status.code, stderr: await stderr };
}

/** The kid of the server that answers a fresh connection (each data dir has its own signing key). */
async function answeringKid(url: string): Promise<string> {
  const res = await fetch(`${url}/.well-known/jwks.json`, { headers: { connection: "close" } });
  const body = await res.json();
  return body.keys[0].kid;
}

Deno.test("serve refuses a port another server holds through SO_REUSEPORT; the first keeps every connection", async () => {
  const first = await startServerProcess({ env: { DCI_HTTP_ISOLATES: "2" } });
  try {
    const kid = await answeringKid(first.url);
    const second = await secondServer(first.port); // default: one HTTP isolate, SO_REUSEPORT
    assert.equal(second.listened, false, "the second server listened on the taken port");
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`port ${first.port} on 127\\.0\\.0\\.1 is already in use`));
    const kids = new Set<string>();
    for (let i = 0; i < 24; i++) kids.add(await answeringKid(first.url));
    assert.deepEqual([...kids], [kid]);
  } finally {
    await first.stop();
  }
});

Deno.test("serve in the main isolate (DCI_HTTP_ISOLATES=0) names the taken port too", async () => {
  const first = await startServerProcess();
  try {
    const second = await secondServer(first.port, { DCI_HTTP_ISOLATES: "0" });
    assert.equal(second.listened, false);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`port ${first.port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    await first.stop();
  }
});

Deno.test("serve starts on a port whose last server left connections in TIME_WAIT", async () => {
  const first = await startServerProcess();
  const port = first.port;
  // "connection: close" makes the server close first, so its side of each connection waits in TIME_WAIT.
  for (let i = 0; i < 5; i++) await answeringKid(first.url);
  assert.equal(await first.stop(), 0);
  const again = await startServerProcess({ env: { DCI_PORT: String(port) } });
  try {
    assert.equal(again.port, port);
  } finally {
    await again.stop();
  }
});

Deno.test("startServer() with reusePort and exclusive probes first: a port shared through SO_REUSEPORT is refused", async () => {
  const other = Deno.serve(
    { hostname: "127.0.0.1", port: 0, reusePort: true, onListen: () => {} },
    () => new Response("other"),
  );
  const deps = await testDeps();
  try {
    assert.throws(
      () => startServer(deps, { port: other.addr.port, reusePort: true, exclusive: true }),
      (e: unknown) => e instanceof PortInUseError && e.message.includes(`port ${other.addr.port}`),
    );
    // An isolate joining its own server's port (not exclusive) still shares it.
    const joined = startServer(deps, { port: other.addr.port, reusePort: true });
    await joined.shutdown();
  } finally {
    deps.close();
    await other.shutdown();
  }
});
