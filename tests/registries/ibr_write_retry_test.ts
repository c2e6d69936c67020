/**
 * A writing sync action that fails does not spend its message_id (ProfileAction.writes): IBR
 * `sync/enrollment/updates` answered 503 because another connection held the write lock is admitted again when
 * the sender retries the same signed request, and then applies the update. The replay guard forgets the id on
 * both backends (`ReplayGuard.release`).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { harness } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";

import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { admit } from "../../src/auth/admission.ts";
import { setBusyTimeout } from "../../src/db/sqlite.ts";
import { testEnrolmentUpdate } from "./ibr_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const LIMITS = { minute: 1000, day: 100_000 };

Deno.test("replay guard: a released message_id is admitted again; until then it is a duplicate", async () => {
  const deps = await testDeps();
  try {
    const header = { message_id: "m-release", message_ts: new Date(deps.clock.now()).toISOString() };
    const other = { ...header, message_id: "m-kept" };
    for (const h of [header, other]) {
      assert.equal((await admit(deps, "sp", LIMITS, h, undefined, { sync: true })).allowed, true);
    }
    await assert.rejects(admit(deps, "sp", LIMITS, header, undefined, { sync: true }), /already received/);
    await deps.storage.replay.release("sp", "m-release");
    assert.equal((await admit(deps, "sp", LIMITS, header, undefined, { sync: true })).allowed, true);
    // Only that sender's id: another id, and the same id of another sender, are untouched.
    await assert.rejects(admit(deps, "sp", LIMITS, other, undefined, { sync: true }), /already received/);
    await assert.rejects(admit(deps, "sp", LIMITS, header, undefined, { sync: true }), /already received/);
  } finally {
    deps.close();
  }
});

Deno.test({
  name:
    "sync/enrollment/updates answered 503 on a held write lock: the same signed request sent again is applied",
  ignore: TEST_BACKEND === "postgres", // the lock is SQLite's; the release itself is tested on both above
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dci-ibr-retry-" });
    const h = await harness({ dataDir });
    const other = new DatabaseSync(`${dataDir}/dci.sqlite`);
    try {
      const now = () => new Date(h.deps.clock.now()).toISOString();
      const source = [...ibrProfile.demo(0, 1)].map((raw, i) => ({ line: i + 1, raw }));
      await h.deps.storage.registryLoad.writeAll(source, { now, profile: ibrProfile });
      const sp = await createTestSender(h.deps, { scopes: ["registry.enrollment"] });
      const env = requestEnvelope(sp.senderId, testEnrolmentUpdate("t-retry", "Suspended"), {
        action: "notify",
        nowMs: h.deps.clock.now(),
        totalCount: 1,
      });
      const body = JSON.stringify(sp.sign(env, h.deps.clock.now()));
      const post = () =>
        h.app.request("/dci_api/v1/ibr/registry/sync/enrollment/updates", {
          method: "POST",
          headers: { "content-type": "application/json", ...sp.headers() },
          body,
        });
      // Once the handler has looked the beneficiary up (after the admission recorded the message_id), another
      // connection takes the write lock: the registry write waits 50 ms for it, and the request answers 503.
      setBusyTimeout(h.deps.db, 50);
      const registry = h.deps.storage.registry;
      const lookUp = registry.findByIdentifier;
      let lockNext = true;
      registry.findByIdentifier = async (...args) => {
        const found = await lookUp(...args);
        if (lockNext) other.exec("BEGIN IMMEDIATE");
        lockNext = false;
        return found;
      };
      const failed = await post();
      assert.equal(failed.status, 503, await failed.text());
      other.exec("ROLLBACK");
      // The release found the lock held too: it is tried again 250 ms later, in the background.
      const recorded = () =>
        Number(
          (other.prepare("SELECT count(*) AS n FROM replay_guard WHERE message_id = ?").get(
            env.header.message_id as string,
          ) as { n: number }).n,
        );
      for (let waited = 0; recorded() > 0; waited += 50) {
        assert.ok(waited < 5000, "the message_id is released once the lock is free");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const retried = await post();
      const answer = await retried.json() as Json;
      assert.equal(retried.status, 200, JSON.stringify(answer));
      assert.deepEqual(answer.message.enrolled_response.map((i: Json) => i.status), ["succ"]);
      const stored = await h.deps.storage.registry.get("IBR-TEST-001", "ibr");
      assert.equal((stored?.details as Json).enrolments[0].enrollment_status, "Suspended");
      // Applied once: a third copy is the duplicate it is.
      const third = await post();
      assert.equal(third.status, 409);
      assert.match(JSON.stringify(await third.json()), /rjct\.message_id\.duplicate/);
    } finally {
      other.close();
      h.deps.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
