/**
 * The registry store's writes with two instances on one PostgreSQL database, at once: each conflict is refused
 * with the InputError one instance alone gives (never a unique-index error), a PATCH never loses another's, and
 * a registry's indexes are created once; and the browser's surname pages read their registry's NOCASE index.
 */
import { equal, ok } from "node:assert/strict";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { InputError } from "../../src/registry/model.ts";
import { person, reg } from "./registry_fixture.ts";
import { browsePlan } from "../../src/registry/browse.ts";
import { surnameRangeQuery } from "../../src/registry/pg_registry_store.ts";
import { sharedPostgres } from "../helpers/postgres.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgAll, pgTransaction } from "../../src/db/pg/query.ts";
import { pgEnsureRegistryIndexes } from "../../src/registries/pg_indexes.ts";
import { recordTypeIndexList } from "../../src/registries/indexes.ts";
import { profileOf } from "../../src/registries/index.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const ROUNDS = 15;

/** One fulfilled and one InputError matching `re`, else the outcomes as a message. */
function oneWins(outcomes: PromiseSettledResult<unknown>[], re: RegExp): void {
  const won = outcomes.filter((o) => o.status === "fulfilled").length;
  const refused =
    outcomes.filter((o) =>
      o.status === "rejected" && o.reason instanceof InputError && re.test(o.reason.message)
    ).length;
  const why = outcomes.map((o) => o.status === "rejected" ? String(o.reason) : "ok").join(" | ");
  equal(won, 1, why);
  equal(refused, 1, why);
}

Deno.test("registry store [postgres]: two instances creating one id at once: one succeeds, one is refused", async () => {
  await withPgInstances(2, async ([a, b]) => {
    for (let k = 0; k < ROUNDS; k++) {
      const outcomes = await Promise.allSettled([
        a.registry.save(person(`P${k}`), { mode: "create", now: NOW }),
        b.registry.save(person(`P${k}`), { mode: "create", now: NOW }),
      ]);
      oneWins(outcomes, new RegExp(`id: a registrant "P${k}" already exists`));
    }
    equal((await a.registry.eventsAfter(0, { limit: 1000 })).length, ROUNDS, "one event per created record");
  });
});

Deno.test("registry store [postgres]: two records claiming one identifier at once: one is refused", async () => {
  await withPgInstances(2, async ([a, b]) => {
    for (let k = 0; k < ROUNDS; k++) {
      const claim = { identifier: [{ identifier_type: "UIN", identifier_value: `U-${k}` }] };
      const outcomes = await Promise.allSettled([
        a.registry.save(person(`A${k}`, claim), { mode: "create", now: NOW }),
        b.registry.save(person(`B${k}`, claim), { mode: "upsert", now: NOW }),
      ]);
      oneWins(outcomes, new RegExp(`identifier UIN "U-${k}" belongs to another registrant`));
    }
  });
});

Deno.test("registry store [postgres]: patches from two instances at once lose nothing", async () => {
  await withPgInstances(2, async ([a, b]) => {
    await a.registry.save(person("P1"), { mode: "create", now: NOW });
    const bump = (s: typeof a) =>
      s.registry.patch("social", "P1", (cur) => ({
        ...cur,
        attributes: { ...cur.attributes, n: Number(cur.attributes.n ?? 0) + 1 },
      }), NOW);
    const all = await Promise.all(Array.from({ length: ROUNDS }, (_, k) => bump(k % 2 ? a : b)));
    ok(all.every((r) => r !== undefined));
    equal((await b.registry.get("P1"))!.attributes.n, ROUNDS);
    const events = await b.registry.eventsAfter(0, { limit: 1000 });
    equal(events.length, ROUNDS + 1);
    equal(events.at(-1)!.registrant.attributes.n, ROUNDS, "the newest event is the last patch");
  });
});

Deno.test("registry indexes [postgres]: two instances writing a registry first at once create its indexes once", async () => {
  const url = await (await sharedPostgres()).createDatabase(
    `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`,
  );
  const pools = [openPgPool(url, { max: 2 }), openPgPool(url, { max: 2 })];
  try {
    await migratePg(pools[0]);
    const registries = ["crvs", "fr", "dr", "ibr"];
    for (const registry of registries) {
      // Each instance in its own transaction, as two first writers that do not hold the event lock.
      await Promise.all(pools.map((p) => pgTransaction(p, (c) => pgEnsureRegistryIndexes(c, registry))));
    }
    const made = await pgAll<{ n: number }>(
      pools[0],
      "SELECT COUNT(*)::int AS n FROM pg_indexes WHERE indexname LIKE 'reg\\_r\\_%'",
    );
    const wanted = registries.flatMap((r) => profileOf(r)!.recordTypes).flatMap((rt) =>
      recordTypeIndexList(rt, "postgres")
    );
    equal(made[0].n, wanted.length);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

Deno.test("registry browse [postgres]: a surname page is a range of the registry's lower(surname) index, in its order", async () => {
  await withPgInstances(1, async ([s], sql) => {
    await s.registry.save(reg({ id: "C0", record_type: "Person", name: { surname: "Dia" } }, "crvs"), {
      mode: "create",
      now: NOW,
    });
    for (const type of ["person", "crvs_person"]) {
      await sql(
        `INSERT INTO registrants (record_type, external_id, given_name, surname, registration_date, last_updated,
           registry)
         SELECT ?, ? || g, 'Ann', (ARRAY['Diallo', 'diaz', 'Okafor', 'Lee', 'Smith'])[1 + g % 5] || (g % 997),
           'x', 'x', ? FROM generate_series(1, 20000) AS g`,
        [type, type, type === "person" ? "social" : "crvs"],
      );
    }
    await sql("INSERT INTO registrant_data (id, data) SELECT id, '{}' FROM registrants WHERE id > 1");
    await sql("ANALYZE");
    const cases = [
      ["person", "reg_p_surname_ci", "social"],
      ["crvs_person", "reg_r_crvs_person_surname_ci", "crvs"],
    ] as const;
    for (const [storage, index, registry] of cases) {
      for (const after of [undefined, "WyJkaWFsbG81IiwxMDBd"]) {
        const plan = browsePlan(profileOf(registry)!, "Ann dia", { after, limit: 50 })!;
        const [text, args] = surnameRangeQuery(storage, plan);
        const lines = (await sql(`EXPLAIN ${text}`.replace(/\$(\d+)/g, "?"), args)).map((r) =>
          r["QUERY PLAN"]
        );
        const shown = lines.join("\n");
        ok(shown.includes(`Index Scan using ${index} on registrants`), shown);
        ok(shown.includes("Presorted Key: (lower(r.surname))") || !shown.includes("Sort"), shown);
      }
    }
  });
});
