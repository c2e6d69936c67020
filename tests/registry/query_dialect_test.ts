/**
 * The query compiler's two dialects (src/registry/query_dialect.ts): the SQLite text of every corpus query is
 * exactly the golden one (written by the compiler before PostgreSQL's dialect existed), and the PostgreSQL text
 * of every one runs on a fresh PostgreSQL database, as a search statement (search mode) or a filter on one
 * registrant (match mode).
 */
import assert from "node:assert/strict";
import { compileCorpus, CORPUS, corpusContext } from "./query_corpus.ts";
import { type Compiled, searchFrom } from "../../src/registry/query_sql.ts";
import { freshStorage } from "../helpers/storage.ts";

const GOLDEN = new URL("./query_sqlite_golden.json", import.meta.url);

Deno.test("toSql: the SQLite text of every corpus query is unchanged (golden file)", async () => {
  const golden = JSON.parse(await Deno.readTextFile(GOLDEN));
  assert.equal(golden.length, CORPUS.length);
  assert.deepEqual(compileCorpus(), golden);
  assert.deepEqual(compileCorpus("sqlite"), golden, "dialect sqlite is the default");
});

Deno.test("toSql: the PostgreSQL text has no SQLite-only part and binds the same values", () => {
  const sqlite = compileCorpus();
  compileCorpus("postgres").forEach((pg, i) => {
    const lite = sqlite[i];
    if ("error" in pg || "error" in lite) return assert.deepEqual(pg, lite, "the same refusal");
    assert.deepEqual(pg.params, lite.params, JSON.stringify(CORPUS[i].query));
    assert.equal(pg.dialect, "postgres");
    assert.doesNotMatch(pg.sql, /dci_budget|random\(\)|NOCASE|NOT INDEXED/);
  });
});

Deno.test("toSql: the PostgreSQL text of every corpus query runs on PostgreSQL", async () => {
  const t = await freshStorage("postgres");
  try {
    const compiled = compileCorpus("postgres");
    let ran = 0;
    for (const [i, w] of compiled.entries()) {
      if ("error" in w) continue;
      const ctx = corpusContext(CORPUS[i].place, "postgres");
      const text = ctx.mode === "search"
        ? `SELECT r.id ${
          searchFrom(w as Compiled, ctx.storage ?? ctx.recordType, ctx.groupStorage)
        } ORDER BY r.id`
        // A filter's registrant with its values and contacts as the event recorded them (filter_eval.ts).
        : `SELECT 1 AS hit FROM (SELECT reg.*, '[["land_size", 2]]'::jsonb AS vals,
            '[["email", "a@b.example"]]'::jsonb AS contacts FROM registrants reg) r WHERE r.id = ? AND ${w.sql}`;
      const params = ctx.mode === "search" ? w.params : [1, ...w.params];
      try {
        await t.sql(text, params);
      } catch (err) {
        assert.fail(`${JSON.stringify(CORPUS[i])}\n${text}\n${(err as Error).message}`);
      }
      ran++;
    }
    assert.ok(ran > 150, `${ran} statements ran`);
  } finally {
    await t.close();
  }
});
