/** `registry import|seed|stats --registry NAME`: the registry is named, checked, and the load goes into it. */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { withDataDirStorage } from "./data_dir_storage.ts";

Deno.test("dci-server registry import --registry: social by name with its own CSV columns; an unknown registry is a usage error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-reg-registry-" });
  try {
    const env = { DCI_DATA_DIR: dir };
    const csv = `${dir}/households.csv`;
    await Deno.writeTextFile(
      csv,
      "id,record_type,group_type,group_size,poverty_score,id.HOUSEHOLD_ID\nH1,group,household,3,2.5,HH-1\n",
    );
    const ok = await runCliProcess(["registry", "import", csv, "--registry", "social"], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /read 1, registered 1, updated 0, rejected 0/, ok.stdout + ok.stderr);
    const unknown = await runCliProcess(["registry", "import", csv, "--registry", "nope"], env);
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /--registry: unknown registry "nope" \(social/);
    const stats = await runCliProcess(["registry", "stats", "--registry", "social"], env);
    assert.match(stats.stdout, /^persons: +0\ngroups: +1\n/);
    await withDataDirStorage(dir, async (_storage, sql) => {
      const rows = await sql("SELECT registry, group_size, poverty_score FROM registrants");
      // PostgreSQL may answer numeric columns as strings.
      assert.deepEqual(
        rows.map((r) => ({
          registry: r.registry,
          group_size: Number(r.group_size),
          poverty_score: Number(r.poverty_score),
        })),
        [{ registry: "social", group_size: 3, poverty_score: 2.5 }],
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
