/** Admission's message_ts check for a request whose body streamed long (a bulk upload): held against its start. */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { admit } from "../../src/auth/admission.ts";
import { addSender } from "../../src/senders/store.ts";

const T0 = Date.parse("2026-12-03T10:00:00Z");
const LIMITS = { minute: 100, day: 1000 };

Deno.test("admit(): message_ts is held against when the request arrived, so a body that took minutes is not refused", async () => {
  const deps = await testDeps({ replayWindowSeconds: "10" }, { now: T0 });
  try {
    await addSender(deps, "s1", { name: "s1" });
    const header = (id: string) => ({ message_id: id, message_ts: new Date(T0).toISOString() });
    deps.clock.advance(60_000); // the upload's body took a minute, six times the window
    await assert.rejects(admit(deps, "s1", LIMITS, header("m1")), /message_ts .* is not within 10 s/);
    assert.equal((await admit(deps, "s1", LIMITS, header("m2"), T0)).allowed, true);
    // The replay guard has it all the same, and a message_ts far from its arrival is still refused.
    await assert.rejects(admit(deps, "s1", LIMITS, header("m2"), T0), /already received/);
    await assert.rejects(admit(deps, "s1", LIMITS, header("m3"), T0 + 60_000), /is not within 10 s/);
  } finally {
    deps.close();
  }
});
