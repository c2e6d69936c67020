/** The test runner's file order (tests/run.ts): long files first, by seconds read from a `deno test` log. */
import assert from "node:assert/strict";
import { durationsOf, longestFirst } from "../run.ts";

Deno.test("test order: a log's seconds per file count top-level tests only, in ms, s and m+s", () => {
  const log = [
    "./tests/a/one_test.ts => first ... ok (250ms)",
    "./tests/a/one_test.ts => second ... step ... ok (9s)",
    "./tests/a/one_test.ts => second ... ok (1m2s)",
    "./tests/b/two_test.ts => fails ... FAILED (3s)",
    "./tests/b/two_test.ts => instant ... ok (0ms)",
    "running 2 tests from ./tests/c/three_test.ts",
    "ok | 4 passed | 1 failed (1m9s)",
  ].join("\n");
  assert.deepEqual(durationsOf(log), { "tests/a/one_test.ts": 62.25, "tests/b/two_test.ts": 3 });
});

Deno.test("test order: the files of tests/durations.json start first, longest first, the rest keep their order", () => {
  const seconds: Record<string, number> = JSON.parse(
    Deno.readTextFileSync(new URL("../durations.json", import.meta.url)),
  );
  const [longest, next] = Object.keys(seconds).sort((a, b) => seconds[b] - seconds[a]);
  const files = ["tests/zz/unknown_b_test.ts", next, "tests/aa/unknown_a_test.ts", longest];
  assert.deepEqual(longestFirst(files), [
    longest,
    next,
    "tests/zz/unknown_b_test.ts",
    "tests/aa/unknown_a_test.ts",
  ]);
});

Deno.test("test order: tests/durations.json names only test files that exist (regenerate it with --durations)", () => {
  const seconds: Record<string, number> = JSON.parse(
    Deno.readTextFileSync(new URL("../durations.json", import.meta.url)),
  );
  const root = new URL("../../", import.meta.url);
  const missing = Object.keys(seconds).filter((path) => {
    try {
      return !Deno.statSync(new URL(path, root)).isFile;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, []);
});
