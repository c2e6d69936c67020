/**
 * HTTP isolates preloaded by main.ts (src/http_isolate_preload.ts): started only for a command line that serves,
 * as many as DCI_HTTP_ISOLATES asks, each taken once, the rest ended.
 */
import assert from "node:assert/strict";
import { dropPreloaded, preloadHttpIsolates, serves, takePreloaded } from "../../src/http_isolate_preload.ts";

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
  }
});
