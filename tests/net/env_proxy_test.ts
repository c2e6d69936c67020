/**
 * An egress proxy in the environment (NODE_USE_ENV_PROXY=1 with HTTP(S)_PROXY, which Deno's node:http honours) is
 * never used by the outbound client: a proxy resolves the receiver's name itself, so the SSRF guard's vetted,
 * pinned address would not be the one connected to. The probe runs in a process of its own, as the setting is
 * read once per process.
 */
import assert from "node:assert/strict";

Deno.test("outbound requests go to the vetted address, never through a proxy named in the environment", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./env_proxy_probe.ts", import.meta.url).pathname],
    env: { NODE_USE_ENV_PROXY: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.deepEqual(JSON.parse(lines[lines.length - 1]), { proxy: 0, receiver: 2, statuses: [200, 200] });
});
