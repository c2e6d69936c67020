/**
 * A processor that throws (a bug, not a refusal) is logged with its stack at each failed attempt and at the last,
 * so the failure can be traced to code; the row keeps the short "Name: message" it always kept.
 */
import assert from "node:assert/strict";
import { harness, type Json, searchMessage } from "./support.ts";
import type { Processor } from "../../src/dci/processor.ts";
import { createLogger } from "../../src/obs/log.ts";

Deno.test("worker: a throwing processor's failed attempts are logged with the error's stack", async () => {
  const search: Processor = () => {
    throw new TypeError("processor bug at work");
  };
  const h = await harness({ processAttempts: "2" }, { processors: { search } });
  const lines: Json[] = [];
  h.deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  try {
    const res = await h.post("/registry/search", searchMessage("t-bug"));
    assert.equal(res.status, 202);
    for (let i = 0; i < 20 && !lines.some((l) => l.msg === "transaction processing failed"); i++) {
      h.deps.clock.advance(1_000);
      await h.drain();
    }
    for (
      const msg of ["transaction processing attempt failed; retry scheduled", "transaction processing failed"]
    ) {
      const line = lines.find((l) => l.msg === msg);
      assert.ok(line, `${msg}: ${JSON.stringify(lines.map((l) => l.msg))}`);
      assert.equal(line.err?.name, "TypeError", msg);
      assert.match(String(line.err?.stack), /processor bug at work\n\s+at /, msg);
    }
  } finally {
    h.close();
  }
});
