/**
 * The registry store's reads on both backends: the admin list, the browser's search (NOCASE surname order,
 * exact id and identifier matches, pages) and lookups by identifier.
 */
import { deepEqual, rejects } from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { BrowseTooBroad } from "../../src/registry/browse.ts";
import { backendTest, freshPgDatabase } from "../helpers/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { household, person, reg, uin } from "./registry_fixture.ts";
import { socialRegistry } from "../../src/registries/index.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const LATER = "2026-01-02T00:00:00.000Z";

backendTest("registry store: the admin list, newest first, by record type, after a cursor", async (s) => {
  const r = s.registry;
  await r.save(household("G1"), { mode: "create", now: NOW });
  for (const id of ["P1", "P2", "P3"]) await r.save(person(id), { mode: "create", now: NOW });
  await r.delete("P2", { now: NOW });
  deepEqual((await r.list("social", { limit: 10 })).map((x) => x.externalId), ["P3", "P1", "G1"]);
  const persons = await r.list("social", { recordType: "person", limit: 1 });
  deepEqual(persons.map((x) => x.externalId), ["P3"]);
  deepEqual(
    (await r.list("social", { recordType: "person", before: persons[0].id, limit: 5 })).map((x) =>
      x.externalId
    ),
    ["P1"],
  );
  deepEqual(await r.list("crvs", { limit: 5 }), []);
  // Another registry's record among them, and the record types interleaved: a page of every type is the newest
  // of all of them, each page below the last one's id (migration 0041: one index range per record type).
  await r.save(household("G2"), { mode: "create", now: NOW });
  await r.save(reg({ id: "C1", record_type: "Person", name: { surname: "Dia" } }, "crvs"), {
    mode: "create",
    now: NOW,
  });
  await r.save(person("P4"), { mode: "create", now: NOW });
  const pages: string[][] = [];
  let before: number | undefined;
  for (;;) {
    const page = await r.list("social", { limit: 2, before });
    pages.push(page.map((x) => x.externalId));
    if (page.length < 2) break;
    before = page[1].id;
  }
  deepEqual(pages, [["P4", "G2"], ["P3", "P1"], ["G1"]]);
  deepEqual((await r.list("crvs", { limit: 5 })).map((x) => x.externalId), ["C1"]);
  deepEqual(await r.list("social", { recordType: "crvs_person", limit: 5 }), []);
});

backendTest(
  "registry store: browse finds by id or identifier first, then surnames in NOCASE order",
  async (s) => {
    const r = s.registry;
    const names = ["diallo", "Diaz", "DIAB", "Dib", "Diallo", "Dia", "Okafor", "dIAZ", "Dia_z"];
    for (const [k, surname] of names.entries()) {
      const given = k % 2 === 0 ? "Ann" : "Bob";
      await r.save(person(`P${k}`, { name: { given_name: given, surname }, ...uin(`Dia-${k}`) }), {
        mode: "create",
        now: NOW,
      });
    }
    const social = socialRegistry();
    const order = async (q: string, limit = 50) => {
      const out: string[] = [];
      let after: string | undefined;
      do {
        const page = await r.browse(social, q, { after, limit });
        out.push(...page.items.map((x) => `${x.externalId}:${x.name.surname}`));
        after = page.next_after ?? undefined;
      } while (after);
      return out;
    };
    // Bytewise after folding ASCII letters: "_" (0x5f) sorts before "b" (0x62).
    const expected = ["P5:Dia", "P8:Dia_z", "P2:DIAB", "P0:diallo", "P4:Diallo", "P1:Diaz", "P7:dIAZ"];
    deepEqual(await order("dia"), expected);
    deepEqual(await order("DIA", 2), expected, "pages of two give the same order");
    deepEqual(await order("Ann dia"), ["P8:Dia_z", "P2:DIAB", "P0:diallo", "P4:Diallo"]);
    deepEqual(await order("P6"), ["P6:Okafor"], "by id");
    deepEqual(await order("Dia-3"), ["P3:Dib"], "by identifier value");
    deepEqual((await order("dia_")).map((x) => x.split(":")[0]), ["P8"], "_ is no wildcard in the prefix");
    deepEqual(await order("   "), []);
  },
);

backendTest(
  "registry store: browse pages surnames differing in non-ASCII case without skipping any",
  async (s) => {
    const r = s.registry;
    for (const [k, surname] of ["Müller", "MÜLLER", "Muster", "MÜLLER"].entries()) {
      await r.save(person(`M${k}`, { name: { given_name: "Ann", surname } }), { mode: "create", now: NOW });
    }
    const social = socialRegistry();
    const order = async (limit: number) => {
      const out: string[] = [];
      let after: string | undefined;
      do {
        const page = await r.browse(social, "m", { after, limit });
        out.push(...page.items.map((x) => x.externalId));
        after = page.next_after ?? undefined;
      } while (after);
      return out;
    };
    // Only ASCII letters fold (NOCASE; lower() in the C locale), then UTF-8 bytes: "Ü" (c3 9c) before "ü" (c3 bc).
    const expected = ["M2", "M1", "M3", "M0"];
    deepEqual(await order(50), expected);
    deepEqual(await order(1), expected, "pages of one give the same rows");
  },
);

backendTest("registry store: findByIdentifier finds live records of one record type", async (s) => {
  const r = s.registry;
  await r.save(person("P1", { identifier: [{ identifier_type: "UIN", identifier_value: "X" }] }), {
    mode: "create",
    now: NOW,
  });
  await r.save(person("P2", { identifier: [{ identifier_type: "NID", identifier_value: "X" }] }), {
    mode: "create",
    now: NOW,
  });
  await r.save(person("P3", { identifier: [{ identifier_type: "NID", identifier_value: "Y" }] }), {
    mode: "create",
    now: NOW,
  });
  const found = async (id: { type?: string; value: string }, type = "person", limit = 5) =>
    (await r.findByIdentifier(id, type, limit)).map((x) => x.externalId);
  deepEqual(await found({ value: "X" }), ["P1", "P2"]);
  deepEqual(await found({ value: "X" }, "person", 1), ["P1"]);
  deepEqual(await found({ type: "NID", value: "X" }), ["P2"]);
  deepEqual(await found({ value: "X" }, "group"), []);
  await r.delete("P1", { now: LATER });
  deepEqual(await found({ value: "X" }), ["P2"]);
});

Deno.test("registry store [sqlite]: a browse whose given-name filter reads past its time budget is refused as too broad", async () => {
  const deps = await testDeps();
  try {
    const r = deps.storage.registry;
    await r.save(person("S1", { name: { given_name: "Ann", surname: "Sm1" } }), { mode: "create", now: NOW });
    // 20,000 more persons named Sm… (copies of its row: only their ids and names differ).
    deps.db.prepare(`WITH RECURSIVE k(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM k WHERE n < 20001)
      INSERT INTO registrants (record_type, registry, external_id, surname, given_name, registration_date,
        last_updated) SELECT record_type, registry, 'S' || n, 'Sm' || n, given_name, registration_date, last_updated
      FROM k, registrants WHERE external_id = 'S1'`).run();
    deps.db.prepare(`INSERT INTO registrant_data (id, data) SELECT r.id, d.data FROM registrants r,
      registrants one JOIN registrant_data d ON d.id = one.id WHERE one.external_id = 'S1' AND r.id <> one.id`)
      .run();
    const social = socialRegistry();
    // Unbudgeted, every person named Sm… is read to find no "Zqx".
    deepEqual((await r.browse(social, "Zqx Sm", {})).items, []);
    await rejects(() => r.browse(social, "Zqx Sm", { budgetMs: 1 }), BrowseTooBroad);
    // A search the surname index answers alone stays within any budget.
    deepEqual((await r.browse(social, "Sm1", { budgetMs: 1, limit: 1 })).items.map((x) => x.externalId), [
      "S1",
    ]);
  } finally {
    deps.close();
  }
});

Deno.test("registry store [postgres]: a browse page whose surname range runs past its time budget is refused as too broad", async () => {
  const url = await freshPgDatabase();
  const pool = openPgPool(url, { max: 2 });
  const locker = openPgPool(url, { max: 1 });
  try {
    const r = pgStorage(pool).registry;
    for (const n of [1, 2]) {
      await r.save(person(`S${n}`, { name: { given_name: "Ann", surname: `Sm${n}` } }), {
        mode: "create",
        now: NOW,
      });
    }
    const social = socialRegistry();
    const first = await r.browse(social, "Sm", { budgetMs: 1, limit: 1 });
    deepEqual(first.items.map((x) => x.externalId), ["S1"]);
    // The next page reads the surname range alone; another session's lock holds it past PostgreSQL's shortest
    // statement timeout (10 ms): cancelled there, it is the budget's refusal, as a slow range's would be.
    const client = await locker.connect();
    try {
      await client.query("BEGIN; LOCK TABLE registrants IN ACCESS EXCLUSIVE MODE");
      const attempt = r.browse(social, "Sm", { after: first.next_after!, budgetMs: 1 });
      // The lock is let go once the browse has ended, or after 2 s: a browse without a budget then ends too.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([attempt.catch(() => {}), new Promise((done) => timer = setTimeout(done, 2000))]);
      clearTimeout(timer);
      await client.query("ROLLBACK");
      await rejects(attempt, BrowseTooBroad);
    } finally {
      client.release();
    }
    deepEqual(
      (await r.browse(social, "Sm", { after: first.next_after!, budgetMs: 1 })).items.map((x) =>
        x.externalId
      ),
      [
        "S2",
      ],
    );
  } finally {
    await pool.end();
    await locker.end();
  }
});
