/**
 * HTTP isolates preloaded by main.ts (src/http_isolate_preload.ts): started only for a command line that serves,
 * as many as DCI_HTTP_ISOLATES asks, each taken once, the rest ended; and SIGHUP held from then on.
 */
import assert from "node:assert/strict";
import {
  dropPreloaded,
  holdSighup,
  preloadHttpIsolates,
  serves,
  takePreloaded,
} from "../../src/http_isolate_preload.ts";

Deno.test("preloadHttpIsolates: none for a command that does not serve or a help request", () => {
  for (
    const argv of [
      ["--version"],
      ["--help"],
      ["serve", "--help"],
      ["registry", "list"],
      ["sender", "add", "s1"],
      // Settings flags before a command (the README's systemd form): still the command, not serve.
      ["--data-dir", "/var/lib/dci", "keys", "list"],
      ["--env-file", "/etc/dci-server/env", "--data-dir=/var/lib/dci", "txn", "list"],
    ]
  ) {
    assert.equal(preloadHttpIsolates(argv, "1"), 0, argv.join(" "));
  }
  assert.equal(takePreloaded(1), undefined);
});

Deno.test("serves(): serve alone, or after settings flags", () => {
  for (
    const argv of [[], ["serve"], ["--port", "8080"], ["--data-dir", "d", "serve"], [
      "--port=1",
      "serve",
      "--x",
    ]]
  ) {
    assert.equal(serves(argv), true, argv.join(" "));
  }
});

Deno.test("preloadHttpIsolates: DCI_HTTP_ISOLATES isolates (default 1; 0 or a bad value: none)", () => {
  try {
    assert.equal(preloadHttpIsolates(["serve"], "0"), 0);
    assert.equal(preloadHttpIsolates(["serve"], "two"), 0);
    assert.equal(preloadHttpIsolates([], undefined), 1);
    dropPreloaded();
    assert.equal(takePreloaded(1), undefined, "dropped");
    assert.equal(preloadHttpIsolates(["--port", "8080"], " 2 "), 2);
    const first = takePreloaded(1);
    assert.ok(first instanceof Worker);
    first.terminate();
    assert.equal(takePreloaded(1), undefined, "taken once");
    const second = takePreloaded(2);
    assert.ok(second instanceof Worker);
    second.terminate();
    assert.equal(takePreloaded(3), undefined);
  } finally {
    dropPreloaded();
    holdSighup().release();
  }
});

Deno.test("preloadHttpIsolates holds SIGHUP from the first line of a serving process: one sent then is noted", async () => {
  // A process of its own: once any SIGHUP listener was added, Deno catches SIGHUP for the process's life.
  const preload = new URL("../../src/http_isolate_preload.ts", import.meta.url).href;
  const script = `import { holdSighup, preloadHttpIsolates } from ${JSON.stringify(preload)};
    preloadHttpIsolates(["serve"], "0");
    Deno.kill(Deno.pid, "SIGHUP");
    const held = holdSighup(); // serve takes the hold main.ts took
    for (let i = 0; i < 200 && !held.seen; i++) await new Promise((r) => setTimeout(r, 10));
    console.log(held.seen ? "noted" : "not noted");
    held.release();`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  // Without the hold, SIGHUP's default action ends the process (signal 1, nothing printed).
  assert.deepEqual([out.code, out.signal, new TextDecoder().decode(out.stdout).trim()], [0, null, "noted"]);
});
