/**
 * A registry DCI_REGISTRIES names, served for the first time on a database that holds others' records, has its
 * search indexes built at start-up, before the server listens, not by its first write (which would read every
 * registrant while holding the write lock: on SQLite, ~2.6 to 4.8 s a registry at 1.4M records, the isolate stalled
 * meanwhile); with `all`, the first write still builds them. Both backends.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { demoSource, registryStartup } from "../../src/registry/startup.ts";
import { socialProfile } from "../../src/registries/social/profile.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { recordTypeIndexList } from "../../src/registries/indexes.ts";
import { createLogger } from "../../src/obs/log.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");

/** The names of `registry`'s search indexes in the database of `deps`. */
async function indexesOf(deps: TestDeps, registry: string): Promise<string[]> {
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
}

Deno.test("start-up builds the search indexes of a registry DCI_REGISTRIES names, never written, once, and says so", async () => {
  const deps = await testDeps({ registries: "social,crvs" }, { now: NOW });
  try {
    const indexes = (registry: string) => indexesOf(deps, registry);
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

Deno.test("start-up leaves a never-written registry's indexes to its first write when DCI_REGISTRIES is all", async () => {
  // Built for every registry, each of their partial indexes' conditions would be checked on every social write.
  const deps = await testDeps({ registries: "all" }, { now: NOW });
  try {
    await registryStartup(deps);
    assert.deepEqual(await indexesOf(deps, "crvs"), []);
    assert.ok(await deps.storage.registryLoad.missingIndexes("crvs") > 0);
  } finally {
    deps.close();
  }
});
