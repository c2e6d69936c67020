/**
 * Cursor pagination (issue 12 §5): `pagination.cursor` in, `pagination.next_cursor` out, a keyset over the
 * sort key and the row id, stable while records are inserted between pages; the cursor is opaque and
 * validated, so a forged one is rjct.pagination.invalid, never SQL or an error 500. `next_cursor` sits in the
 * answer's `pagination` object, which the spec's schema leaves open (no additionalProperties): it validates.
 */
import assert from "node:assert/strict";
import { fixtureDeps, ids, searchOne } from "../registry/fixture.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH } from "../../src/registry/search_cursor.ts";
import {
  addRegistrant,
  searchItemOf,
  searchResponseErrors,
  searchSetup,
  syncSearch,
} from "./query_support.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const ALL = { query_type: "expression", query: { value: { expression: { seq: [] } } } };

/** Every page of `criteria` by following next_cursor, `between` run after each page. */
async function follow(
  deps: TestDeps,
  criteria: Record<string, unknown>,
  pageSize: number,
  between: (n: number) => Promise<void> = () => Promise.resolve(),
) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 20; n++) {
    const a = await searchOne(deps, {
      ...criteria,
      pagination: { page_size: pageSize, ...(cursor ? { cursor } : {}) },
    });
    assert.equal(a.status, "succ", a.status_reason_message);
    pages.push(ids(a));
    cursor = a.pagination?.next_cursor;
    if (!cursor) return pages;
    await between(n);
  }
  throw new Error("no last page");
}

Deno.test("cursor: next_cursor pages through every record once, in each sort order", async () => {
  const deps = await fixtureDeps();
  try {
    assert.deepEqual(await follow(deps, ALL, 3), [["P1", "P2", "P3"], ["P4", "P5", "P6"], ["P8"]]);
    const bySurname = {
      ...ALL,
      sort: [{ attribute_name: "surname", sort_order: "desc" }, { attribute_name: "birth_date" }],
    };
    const expected = ids(await searchOne(deps, bySurname));
    assert.deepEqual(expected, ["P8", "P6", "P4", "P5", "P2", "P1", "P3"]);
    for (const size of [1, 2, 3, 6]) {
      assert.deepEqual((await follow(deps, bySurname, size)).flat(), expected, `size ${size}`);
    }
    // A sort key that is NULL for some records (death_date: all NULL here, then one set).
    await addRegistrant(deps, { id: "Q1", name: { given_name: "Zed" }, death_date: "2020-01-01" });
    for (const order of ["asc", "desc"]) {
      const byDeath = { ...ALL, sort: [{ attribute_name: "death_date", sort_order: order }] };
      assert.deepEqual((await follow(deps, byDeath, 2)).flat(), ids(await searchOne(deps, byDeath)), order);
    }
    const last = await searchOne(deps, { ...ALL, pagination: { page_size: 8 } });
    assert.equal(last.pagination?.next_cursor, undefined, "no cursor when nothing follows");
  } finally {
    deps.close();
  }
});

Deno.test("cursor: pages stay stable while records are inserted and deleted between them (page_number does not)", async () => {
  const deps = await fixtureDeps();
  try {
    const sorted = { ...ALL, sort: [{ attribute_name: "given_name" }] };
    // After each page, a record that sorts before everything seen so far arrives, and one already seen goes.
    const pages = await follow(deps, sorted, 2, async (n) => {
      await addRegistrant(deps, { id: `A${n}`, name: { given_name: `Aaa${n}` } });
      if (n === 0) await deps.storage.registry.delete("P1", { now: NOW });
    });
    const seen = pages.flat();
    assert.deepEqual(seen, ["P1", "P2", "P3", "P4", "P5", "P6", "P8"], "no record repeated or skipped");
    // The same inserts with page_number shift records onto the next page: the keyset is what keeps it stable.
    const fresh = await fixtureDeps();
    try {
      const first = ids(await searchOne(fresh, { ...sorted, pagination: { page_size: 2, page_number: 1 } }));
      await addRegistrant(fresh, { id: "A0", name: { given_name: "Aaa0" } });
      const second = ids(await searchOne(fresh, { ...sorted, pagination: { page_size: 2, page_number: 2 } }));
      assert.deepEqual([first, second], [["P1", "P2"], ["P2", "P3"]]);
    } finally {
      fresh.close();
    }
  } finally {
    deps.close();
  }
});

Deno.test("cursor: a forged, foreign or oversized cursor is rjct.pagination.invalid", async () => {
  const deps = await fixtureDeps();
  try {
    const b64 = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const issued = (await searchOne(deps, { ...ALL, pagination: { page_size: 2 } })).pagination?.next_cursor;
    assert.ok(issued);
    const forged: unknown[] = [
      "'; DROP TABLE registrants; --",
      b64(`{"s":"","v":["1) OR 1=1 --"]}`),
      b64(`{"s":"","v":[0]}`),
      b64(`{"s":"","v":[1.5]}`),
      b64(`{"s":"given_name+","v":["x",3]}`),
      b64(`{"s":"","v":[{"$gt":1}]}`),
      b64("not json"),
      b64(`["", 3]`),
      "A".repeat(12_289),
      12345,
      { cursor: "x" },
    ];
    for (const cursor of forged) {
      const a = await searchOne(deps, { ...ALL, pagination: { page_size: 2, cursor } });
      assert.equal(a.status, "rjct", JSON.stringify(cursor).slice(0, 40));
      assert.equal(a.status_reason_code, "rjct.pagination.invalid", JSON.stringify(cursor).slice(0, 40));
    }
    const otherSort = await searchOne(deps, {
      ...ALL,
      sort: [{ attribute_name: "surname" }],
      pagination: { cursor: issued },
    });
    assert.equal(
      otherSort.status_reason_code,
      "rjct.pagination.invalid",
      "a cursor belongs to its sort order",
    );
    // A well-formed cursor of any position is only a starting point (as page_number is).
    const crafted = encodeCursor([], [], 4); // row 4 is P2 (G1, G2 and P1 were written first)
    assert.deepEqual(ids(await searchOne(deps, { ...ALL, pagination: { page_size: 2, cursor: crafted } })), [
      "P3",
      "P4",
    ]);
  } finally {
    deps.close();
  }
});

Deno.test("cursor: the longest cursor this server issues (5 sort keys of 256 characters, each written 6 bytes in JSON) is accepted back", () => {
  const sort = ["given_name", "surname", "locality", "region_code", "postal_code"].map((column) => ({
    column,
    sql: `r.${column}`,
    desc: false,
  }));
  for (const char of ["\u0001", "\ud800", "語"]) {
    const values = sort.map(() => char.repeat(256));
    const cursor = encodeCursor(sort, values, 123_456_789);
    assert.ok(cursor.length <= MAX_CURSOR_LENGTH, `${cursor.length} characters`);
    assert.deepEqual(decodeCursor(cursor, sort), { values, id: 123_456_789 });
  }
});

Deno.test("cursor: through the signed route, next_cursor is in pagination and the answer validates against the spec", async () => {
  const s = await searchSetup();
  try {
    const first = await syncSearch(s, [
      searchItemOf({ ...ALL, pagination: { page_size: 4, page_number: 1 } }),
    ]);
    const cursor = first.items[0].pagination.next_cursor;
    assert.equal(typeof cursor, "string");
    assert.ok(cursor.length < 200);
    assert.deepEqual(searchResponseErrors(first.json.message), []);
    const second = await syncSearch(s, [searchItemOf({ ...ALL, pagination: { page_size: 4, cursor } })]);
    assert.deepEqual(second.items[0].data.reg_records.map((r: Record<string, unknown>) => r["@id"]), [
      "P5",
      "P6",
      "P8",
    ]);
    assert.equal(second.items[0].pagination.total_count, 7, "total_count counts every match");
    assert.equal(second.items[0].pagination.next_cursor, undefined);
    assert.deepEqual(searchResponseErrors(second.json.message), []);
  } finally {
    s.deps.close();
  }
});
