/**
 * A registry served for the first time on a database that holds others' records has its search indexes built at
 * start-up, before the server listens, not by its first write (which would read every registrant while holding the
 * write lock: on SQLite, ~2.6 to 4.8 s a registry at 1.4M records, the isolate stalled meanwhile). Both backends.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { demoSource, registryStartup } from "../../src/registry/startup.ts";
import { socialProfile } from "../../src/registries/social/profile.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { recordTypeIndexList } from "../../src/registries/indexes.ts";
import { createLogger } from "../../src/obs/log.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");

Deno.test("start-up builds the search indexes of a served registry never written, once, and says so", async () => {
  const deps = await testDeps({ registries: "social,crvs" }, { now: NOW });
  try {
    const indexes = async (registry: string) => {
      const prefix = `reg_r_${registry}_`;
      return (deps.backend === "sqlite"
        ? await deps.sql("SELECT name FROM sqlite_master WHERE type = 'index' AND substr(name, 1, ?) = ?", [
          prefix.length,
          prefix,
        ])
        : await deps.sql("SELECT indexname AS name FROM pg_indexes WHERE substr(indexname, 1, ?) = ?", [
          prefix.length,
          prefix,
        ])).map((r) => String(r.name)).sort();
    };
    await deps.storage.registryLoad.writeAll(demoSource(socialProfile, 20, 1), {
      now: () => new Date(NOW).toISOString(),
      profile: socialProfile,
    });
    assert.deepEqual(await indexes("crvs"), [], "a registry never written has no index yet");
    const lines: string[] = [];
    const log = createLogger("info", { sink: (l) => lines.push(l) });
    await registryStartup({ ...deps, log });
    const wanted = crvsProfile.recordTypes.flatMap((rt) =>
      recordTypeIndexList(rt, "sqlite").map((i) => i.name)
    );
    assert.deepEqual(await indexes("crvs"), [...wanted].sort());
    const building = lines.map((l) => JSON.parse(l)).find((l) =>
      l.msg.startsWith("building the search indexes")
    );
    assert.deepEqual(building?.indexes, { crvs: wanted.length }, lines.join("\n"));
    assert.ok(lines.some((l) => JSON.parse(l).msg === "registry search indexes built"));
    // A registry not served gets none; the next start has nothing to build.
    assert.deepEqual(await indexes("fr"), []);
    lines.length = 0;
    await registryStartup({ ...deps, log });
    assert.deepEqual(lines.filter((l) => l.includes("indexes")), []);
    assert.equal(await deps.storage.registryLoad.missingIndexes("crvs"), 0);
  } finally {
    deps.close();
  }
});
