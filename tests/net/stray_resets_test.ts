/**
 * guardStrayConnectionResets (src/net/stray_resets.ts), in a process of its own: a real "socket hang up" from
 * node's HTTP client that no listener takes (a server that closes the connection without answering) is logged and
 * the process goes on; any other uncaught error still ends it.
 */
import { equal, match, ok } from "node:assert/strict";
import { isStrayConnectionReset } from "../../src/net/stray_resets.ts";

const GUARD = new URL("../../src/net/stray_resets.ts", import.meta.url).href;
const LOG = new URL("../../src/obs/log.ts", import.meta.url).href;

/** Runs `body` after installing the guard; its exit code and output. */
async function runGuarded(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-stray-" });
  const file = `${dir}/main.ts`;
  await Deno.writeTextFile(
    file,
    `import { guardStrayConnectionResets } from "${GUARD}";
import { createLogger } from "${LOG}";
guardStrayConnectionResets(createLogger("info"));
${body}`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("stray resets: a real socket hang up nobody listens for is logged and the process goes on", async () => {
  const r = await runGuarded(`
import { request } from "node:http";
// A server that takes the connection and closes it without an answer: the client's request ends in "socket hang up".
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
(async () => { for await (const conn of listener) conn.close(); })();
const req = request({ host: "127.0.0.1", port: listener.addr.port, method: "POST" }); // no "error" listener
req.end("x");
// Long after the reset (a few ms on loopback), even on a loaded machine.
setTimeout(() => { console.log(JSON.stringify({ msg: "alive" })); listener.close(); Deno.exit(0); }, 3000);
`);
  equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const warned = lines.find((l) => l.level === "warn");
  ok(warned, r.stdout);
  match(String(warned.msg), /outbound connection reset outside its request/);
  ok(lines.some((l) => l.msg === "alive"));
});

Deno.test("stray resets: any other uncaught error still ends the process", async () => {
  const r = await runGuarded(`setTimeout(() => { throw new TypeError("a real bug"); }, 10);
setTimeout(() => console.log("should not be reached"), 500);`);
  equal(r.code, 1);
  match(r.stderr, /a real bug/);
  ok(!r.stdout.includes("should not be reached"));
  // Nor is a reset with another message or from elsewhere taken for one.
  const other = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  equal(isStrayConnectionReset(other), false);
  equal(isStrayConnectionReset("socket hang up"), false);
});
