import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { csvRecords } from "../../src/registry/csv.ts";
import { jsonArrayRecords, ndjsonRecords } from "../../src/registry/sources.ts";
import { testDeps } from "../helpers/deps.ts";
import { freshPgDatabase, TEST_BACKEND } from "../helpers/deps.ts";

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
    // On PostgreSQL the CLI gets a database of its own here, which the test then reads behind it.
    const databaseUrl = TEST_BACKEND === "postgres" ? await freshPgDatabase() : undefined;
    const env: Record<string, string> = databaseUrl
      ? { DCI_DATA_DIR: dir, DCI_DATABASE_URL: databaseUrl }
      : { DCI_DATA_DIR: dir };
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
    assert.equal(r.code, 3, "rows were rejected: exit 3 (the others are imported)");
    assert.match(r.stderr, /4 row\(s\) rejected.*--allow-rejects/);
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
    const j = await runCliProcess(["registry", "import", json, "--allow-rejects"], env);
    assert.equal(j.code, 0, j.stderr);
    assert.match(j.stdout, /read 2, registered 1, updated 0, rejected 1/, j.stdout + j.stderr);
    const s = await runCliProcess(["registry", "seed", "--demo", "25", "--seed", "3"], env);
    assert.match(s.stdout, /rejected 0/, s.stdout + s.stderr);
    const stats = await runCliProcess(["registry", "stats"], env);
    assert.match(stats.stdout, /^persons: +29\ngroups: /, stats.stdout);
    const deps = await testDeps(databaseUrl ? { dataDir: dir, databaseUrl } : { dataDir: dir });
    try {
      const events = await deps.storage.registry.eventsAfter(0, { limit: 10_000 });
      const registrants = Number((await deps.sql("SELECT COUNT(*) AS n FROM registrants"))[0].n);
      assert.equal(events.length, registrants + 1, "one event per registration plus the update of A5");
      assert.equal(events.filter((e) => e.eventType === "update").length, 1);
      const [idx] = await deps.sql(
        deps.backend === "postgres"
          ? "SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = 'registrants' AND indexname LIKE 'reg_p_%'"
          : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type='index' AND name LIKE 'reg_p_%'",
      );
      // 11 of migration 0003 and the 3 case-insensitive name indexes of 0014 (PostgreSQL's baseline: the same 14).
      assert.equal(Number(idx.n), 14, "indexes deferred for the first (bulk) load are back");
    } finally {
      deps.close();
    }
    const missing = await runCliProcess(["registry", "import", `${dir}/nope.ndjson`], env);
    assert.equal(missing.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAll(): a batch mixing new ids, updates of existing ids, in-batch repeats and conflicts", async () => {
  const deps = await testDeps();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const p = (id: string, uin: string, extra: Record<string, unknown> = {}) => ({
      id,
      identifier: [{ identifier_type: "UIN", identifier_value: uin }],
      name: { given_name: id },
      sex: "female",
      ...extra,
    });
    const first = await deps.storage.registryLoad.writeAll([
      { line: 1, raw: { id: "H1", record_type: "group", group_size: 2 } },
      { line: 2, raw: p("A", "1", { group_id: "H1", relationship: "SELF" }) },
      { line: 3, raw: p("B", "2", { birth_date: "1990-01-01" }) },
    ], { now });
    assert.deepEqual([first.registered, first.updated, first.rejectedCount], [3, 0, 0]);
    deps.clock.advance(60_000);
    const second = await deps.storage.registryLoad.writeAll([
      { line: 1, raw: p("C", "3") }, // new
      { line: 2, raw: p("B", "22", { birth_date: "1991-02-02" }) }, // update: B's UIN changes 2 -> 22
      { line: 3, raw: p("D", "2") }, // new, takes the UIN B just gave up
      { line: 4, raw: p("E", "1") }, // A still holds UIN 1
      { line: 5, raw: p("C", "3", { sex: "male" }) }, // repeat of a new id in the same batch: an update
      { line: 6, raw: p("F", "3") }, // UIN 3 was taken earlier in this batch
      { line: 7, raw: p("G", "7", { group_id: "H1" }) }, // household from the store (not this import)
      { line: 8, raw: p("H", "8", { group_id: "NOPE" }) },
    ], { now, batchSize: 100 });
    assert.deepEqual([second.read, second.registered, second.updated, second.rejectedCount], [8, 3, 2, 3]);
    assert.deepEqual(second.rejected.map((r) => r.line), [4, 6, 8]);
    assert.match(second.rejected[0].reason, /identifier UIN "1" belongs to another registrant/);
    assert.match(second.rejected[2].reason, /no household "NOPE"/);
    const b = (await deps.storage.registry.get("B"))!;
    assert.equal(b.birthDate, "1991-02-02");
    assert.deepEqual(b.identifiers, [{ type: "UIN", value: "22" }]);
    assert.equal((await deps.storage.registry.get("C"))!.sex, "male");
    assert.equal((await deps.storage.registry.get("G"))!.groupRef, "H1");
    const owner = async (v: string) =>
      ((await deps.sql(
        "SELECT r.external_id AS e FROM identifiers i JOIN registrants r ON r.id = i.registrant_id WHERE i.id_value = ? AND i.live = 1",
        [v],
      ))[0] as { e: string } | undefined)?.e;
    assert.deepEqual(await Promise.all(["1", "2", "22", "3", "7"].map(owner)), ["A", "D", "B", "C", "G"]);

    // Events: the registration of B still reads B as registered (lazy snapshot copied before the update).
    const events = await deps.storage.registry.eventsAfter(0, { limit: 100 });
    assert.deepEqual(
      events.map((e) => `${e.eventType}:${e.registrant.externalId}`),
      ["H1", "A", "B"].map((x) => `registration:${x}`).concat(
        ["registration:C", "update:B", "registration:D", "update:C", "registration:G"],
      ),
    );
    const regB = events.find((e) => e.eventType === "registration" && e.registrant.externalId === "B")!;
    assert.equal(regB.registrant.birthDate, "1990-01-01");
    assert.equal(regB.record.birthdate ?? regB.registrant.birthDate, "1990-01-01");
    const updB = events.find((e) => e.eventType === "update" && e.registrant.externalId === "B")!;
    assert.equal(updB.registrant.birthDate, "1991-02-02");
    const [lazy] = await deps.sql("SELECT COUNT(*) AS n FROM registry_events WHERE snapshot = ''");
    assert.ok(Number(lazy.n) > 0, "fast-path registrations store no copy of the record");
    assert.equal(
      Number(
        (await deps.sql(
          "SELECT COUNT(*) AS n FROM registry_events e JOIN registrants r ON r.id = e.registrant_id WHERE e.snapshot = '' AND r.external_id = 'B'",
        ))[0].n,
      ),
      0,
      "B's registration got its own copy before B changed",
    );

    // A re-import of the same records: every id exists, so all count as updates, no new registrations; their
    // records are unchanged, so nothing is written and no event raised (no subscriber hears of a non-change).
    const before = events.length;
    const again = await deps.storage.registryLoad.writeAll([
      { line: 1, raw: p("A", "1", { group_id: "H1", relationship: "SELF" }) },
      { line: 2, raw: p("D", "2") },
    ], { now });
    assert.deepEqual([again.registered, again.updated, again.rejectedCount], [0, 2, 0]);
    const after = await deps.storage.registry.eventsAfter(0, { limit: 100 });
    assert.equal(after.length, before);
    assert.equal(after.find((e) => e.registrant.externalId === "A")!.eventType, "registration");
    assert.equal(after.filter((e) => e.eventType === "registration").length, 6);
  } finally {
    deps.close();
  }
});
