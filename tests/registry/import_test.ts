import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { csvRecords } from "../../src/registry/csv.ts";
import { jsonArrayRecords, ndjsonRecords } from "../../src/registry/sources.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { listEventsAfter } from "../../src/registry/events.ts";

async function* chunks(text: string, size = 7): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test("import readers stream NDJSON, JSON arrays and CSV with line numbers", async () => {
  const nd = await collect(ndjsonRecords(chunks('{"id":"A"}\n\n{"id":"B"}\n{oops\n{"id":"C"}')));
  assert.deepEqual(nd.map((r) => [r.line, (r.raw as { id?: string })?.id ?? r.error?.slice(0, 12)]), [
    [1, "A"],
    [3, "B"],
    [4, "invalid JSON"],
    [5, "C"],
  ]);
  const arr = await collect(
    jsonArrayRecords(chunks('[\n {"id":"A","s":"}]\\"{"},\n {"id":"B",\n  "x":[1,{"y":2}]}\n]\n', 5)),
  );
  assert.deepEqual(arr.map((r) => [r.line, (r.raw as { id: string }).id]), [[2, "A"], [3, "B"]]);
  const csv = await collect(
    csvRecords(
      chunks(
        'id,given_name,surname,sex,birth_date,id.UIN,identifiers,phone_number,attr.note\r\nP1,"Ann ""Jo""",Lee,F,1990-01-02,U1,BRN:B1,+1|+2,"multi\nline"\nP2,Bo,Lee,M,1991-01-01,U2,,,\nP3,short\n',
      ),
    ),
  );
  assert.equal(csv.length, 3);
  assert.deepEqual(csv[0].raw, {
    id: "P1",
    sex: "F",
    birth_date: "1990-01-02",
    phone_number: ["+1", "+2"],
    name: { given_name: 'Ann "Jo"', surname: "Lee" },
    identifier: [{ identifier_type: "UIN", identifier_value: "U1" }, {
      identifier_type: "BRN",
      identifier_value: "B1",
    }],
    attributes: { note: "multi\nline" },
  });
  assert.equal(csv[1].line, 4);
  assert.match(csv[2].error!, /expected 9 cells/);
  assert.equal(csv[2].line, 5);
  await assert.rejects(() => collect(csvRecords(chunks("id,salary\n1,2\n"))), /salary/);
});

Deno.test("dci-server registry import/seed/stats: batches, events, rejected rows with line numbers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-reg-import-" });
  try {
    const env = { DCI_DATA_DIR: dir };
    const nd = `${dir}/people.ndjson`;
    await Deno.writeTextFile(
      nd,
      [
        JSON.stringify({
          id: "H1",
          record_type: "group",
          group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "H1" }],
          group_size: 2,
        }),
        JSON.stringify({
          id: "A1",
          identifier: [{ identifier_type: "UIN", identifier_value: "1" }],
          name: { given_name: "A" },
          sex: "female",
          birth_date: "1990-01-01",
          group_id: "H1",
          relationship: "SELF",
        }),
        JSON.stringify({ id: "A2", identifier: [{ identifier_type: "UIN", identifier_value: "1" }] }),
        "not json",
        JSON.stringify({ id: "A3", birth_date: "1990-13-01", sex: "x" }),
        JSON.stringify({ id: "A4", group_id: "nope" }),
        JSON.stringify({
          id: "A5",
          identifier: [{ identifier_type: "UIN", identifier_value: "5" }],
          sex: "m",
        }),
      ].join("\n"),
    );
    const r = await runCliProcess(["registry", "import", nd, "--batch", "2"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /read 7, registered 3, updated 0, rejected 4/);
    assert.match(r.stdout, /3\s+identifier UIN "1" belongs to another registrant/);
    assert.match(r.stdout, /4\s+invalid JSON/);
    assert.match(r.stdout, /5\s+sex: "x" is not male.*birth_date: "1990-13-01" is not a date/);
    assert.match(r.stdout, /6\s+group_id: no household "nope"/);
    const csv = `${dir}/more.csv`;
    await Deno.writeTextFile(csv, "id,given_name,sex,id.UIN\nA5,Eve,female,5\nA6,Fay,female,6\n");
    const c = await runCliProcess(["registry", "import", csv], env);
    assert.match(c.stdout, /read 2, registered 1, updated 1, rejected 0/, c.stdout + c.stderr);
    const json = `${dir}/arr.json`;
    await Deno.writeTextFile(json, JSON.stringify([{ id: "A7", sex: "male" }, { id: "bad id!" }]));
    const j = await runCliProcess(["registry", "import", json], env);
    assert.match(j.stdout, /read 2, registered 1, updated 0, rejected 1/, j.stdout + j.stderr);
    const s = await runCliProcess(["registry", "seed", "--demo", "25", "--seed", "3"], env);
    assert.match(s.stdout, /rejected 0/, s.stdout + s.stderr);
    const stats = await runCliProcess(["registry", "stats"], env);
    assert.match(stats.stdout, /PERSONS\s+GROUPS/);
    assert.match(stats.stdout, /\n29\s+/, stats.stdout);
    const db = openDatabase(`${dir}/dci.sqlite`);
    try {
      const events = listEventsAfter(db, 0, { limit: 10_000 });
      const registrants = Number(
        (db.prepare("SELECT COUNT(*) AS n FROM registrants").get() as { n: number }).n,
      );
      assert.equal(events.length, registrants + 1, "one event per registration plus the update of A5");
      assert.equal(events.filter((e) => e.eventType === "update").length, 1);
      const idx = db.prepare(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type='index' AND name LIKE 'reg_p_%'",
      ).get() as { n: number };
      assert.equal(Number(idx.n), 11, "indexes deferred for the first (bulk) load are back");
    } finally {
      db.close();
    }
    const missing = await runCliProcess(["registry", "import", `${dir}/nope.ndjson`], env);
    assert.equal(missing.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
