/**
 * A SIGHUP that comes while the server starts (a certificate renewal hook's `systemctl reload` during a start)
 * does not end the process (SIGHUP's default action, which systemd counts a clean exit and does not restart):
 * it is noted, and its reload runs once the server is up.
 */
import assert from "node:assert/strict";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../helpers/runtime.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("serve: a SIGHUP before the server listens is held and its reload runs once the server is up", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-hup-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, "serve", "--port", "0", "--data-dir", dataDir],
    // A demo seed large enough that the start takes a while after its database file is created.
    env: { DCI_DEMO_SIZE: "5000", DCI_LOG_LEVEL: "info", DCI_HTTP_ISOLATES: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const messages: string[] = [];
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  /** Reads log lines until one's msg satisfies `pred`; the messages read so far are kept. */
  const until = async (pred: (msg: string) => boolean) => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const msg = String((JSON.parse(line) as { msg?: unknown }).msg);
        messages.push(msg);
        if (pred(msg)) return;
        continue;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error(`the server ended; it logged: ${messages.join(" | ")}`);
      buffered += value;
    }
  };
  try {
    // The start's log lines are held until it listens: its database file appearing says it is under way.
    while (!await Deno.stat(`${dataDir}/dci.sqlite`).then(() => true, () => false)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGHUP");
    // Not ended by it: the reload runs once the server is up (noted while starting, or taken by the server's
    // own handler if the start's synchronous work let the signal through only after that was in place).
    await until((m) => m === "SIGHUP: no TLS configured, nothing to reload");
    assert.ok(messages.includes("listening"), messages.join(" | "));
    child.kill("SIGTERM");
    await until((m) => m === "stopped");
    assert.equal((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await lines.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
