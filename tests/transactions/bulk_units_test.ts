/** Bulk search units: the streaming file reader, the spool pages, and the batched identifier lookup. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { BulkFileError, lookupReader, readSpoolPage } from "../../src/transactions/bulk_file.ts";
import { sqliteSpoolStore } from "../../src/transactions/spool_store.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { fixtureDeps, searchOne } from "../registry/fixture.ts";
import { requireProfile } from "../../src/registries/index.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { signedEnvelope, signedEnvelopeText } from "../../src/dci/envelope.ts";
import { canonicalJson } from "../../src/dci/canonical.ts";

/** Reads `chunks` into a file spool (the embedded SpoolStore) of a temporary data dir, `dataDir` (removed by the caller). */
async function readAll(format: "csv" | "json", chunks: Iterable<Uint8Array>, maxItems = 1_000_000) {
  const dataDir = await Deno.makeTempDir({ prefix: "bulk-unit-" });
  const db = openDatabase(":memory:");
  const spools = sqliteSpoolStore(db, dataDir);
  const name = `${crypto.randomUUID()}.lookups`;
  const spool = await spools.create(name);
  try {
    const reader = lookupReader(format, spool, { maxItems });
    for (const c of chunks) reader.write(c);
    const count = await reader.end();
    await spool.commit();
    return { count, dataDir, path: join(dataDir, "bulk", name), reader: spools.reader(name) };
  } catch (err) {
    await spool.abort();
    await Deno.remove(dataDir, { recursive: true });
    throw err;
  } finally {
    db.close();
  }
}

/** The check of a file refused as `err.request.bad` with `message` (`name`: the case, in a failure). */
function refusal(name: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof BulkFileError, name);
    assert.equal(err.code, "err.request.bad", name);
    assert.match(err.message, message, name);
    return true;
  };
}

/** `text` cut into `size`-byte chunks (so tokens and UTF-8 sequences straddle chunk borders). */
function* cut(text: string, size: number): Generator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

Deno.test("lookupReader() reads CSV and JSON in any chunking into the same normalised spool lines", async () => {
  const csv = 'type,value,reference_id\nUIN,U-1,a\n urn:dci:id:brn ,"B-3",b\nUIN,Ünïcode-9,\n';
  const json = JSON.stringify([
    { type: "UIN", value: "U-1", reference_id: "a" },
    {
      reference_id: "b",
      search_criteria: { query_type: "idtype-value", query: { type: "urn:dci:id:brn", value: "B-3" } },
    },
    { type: "UIN", value: "Ünïcode-9" },
  ]);
  const expected = '["a","UIN","U-1"]\n["b","urn:dci:id:brn","B-3"]\n["3","UIN","\\u00dcn\\u00efcode-9"]\n';
  for (const [format, text] of [["csv", csv], ["json", json]] as const) {
    for (const size of [1, 3, 7, 4096]) {
      const { count, dataDir, path, reader } = await readAll(format, cut(text, size));
      assert.equal(count, 3, `${format} in ${size}-byte chunks`);
      assert.equal(await Deno.readTextFile(path), expected, `${format} in ${size}-byte chunks`);
      const pages = [await readSpoolPage(reader, 0, 2)];
      pages.push(await readSpoolPage(reader, pages[0].next, 2));
      assert.deepEqual(pages.map((p) => p.lookups.map((l) => l.value)), [["U-1", "B-3"], ["Ünïcode-9"]]);
      assert.equal(pages[1].next, new TextEncoder().encode(expected).length);
      await Deno.remove(dataDir, { recursive: true });
    }
  }
});

Deno.test("lookupReader() reads spec search items as an inline search does, and skips a CSV row of empty fields", async () => {
  const json = JSON.stringify([
    // reference_id "" as the spec's samples send it: the position, as in CSV.
    {
      reference_id: "",
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "U-1" } },
    },
    {
      reference_id: "b",
      search_criteria: {
        query_type: "urn:dci:query-type:IDTYPE-VALUE",
        query: { type: "BRN", value: "B-3" },
      },
    },
    // OpenG2P's older shape, alone and as the query's value.
    {
      reference_id: "c",
      search_criteria: { query_type: "idtype-value", query: { id_type: "UIN", id_value: "U-7" } },
    },
    {
      reference_id: "d",
      search_criteria: {
        query_type: "idtype-value",
        query: { type: "idtype-value", value: { id_type: "UIN", id_value: "U-8" } },
      },
    },
  ]);
  const fromJson = await readAll("json", [new TextEncoder().encode(json)]);
  assert.equal(
    await Deno.readTextFile(fromJson.path),
    '["1","UIN","U-1"]\n["b","BRN","B-3"]\n["c","UIN","U-7"]\n["d","UIN","U-8"]\n',
  );
  await Deno.remove(fromJson.dataDir, { recursive: true });
  // A predicate item is still refused, whatever the case of its query_type.
  await assert.rejects(
    readAll("json", [
      new TextEncoder().encode(JSON.stringify([{ search_criteria: { query_type: "PREDICATE", query: [] } }])),
    ]),
    refusal("predicate", /element 1: an idtype-value lookup needs a type/),
  );
  const csv = "type,value,reference_id\nUIN,U-1,a\n,,\n , , \nUIN,U-2,b\n,,\n";
  const fromCsv = await readAll("csv", [new TextEncoder().encode(csv)]);
  assert.equal(fromCsv.count, 2);
  assert.equal(await Deno.readTextFile(fromCsv.path), '["a","UIN","U-1"]\n["b","UIN","U-2"]\n');
  await Deno.remove(fromCsv.dataDir, { recursive: true });
  // A row with some fields empty is still a lookup, refused for what it lacks.
  await assert.rejects(
    readAll("csv", [new TextEncoder().encode("type,value\nUIN,\n")]),
    refusal("a row without a value", /row 2: an idtype-value lookup needs a value/),
  );
});

Deno.test("lookupReader() marks a lookup whose reference_id repeats an earlier one, given or positional", async () => {
  const csv = "type,value,reference_id\nUIN,U-1,a\nUIN,U-2,b\nUIN,U-3,a\nUIN,U-4,\nUIN,U-5,4\nUIN,U-6,b\n";
  const json = JSON.stringify([
    { type: "UIN", value: "U-1", reference_id: "a" },
    { type: "UIN", value: "U-2", reference_id: "b" },
    { type: "UIN", value: "U-3", reference_id: "a" },
    { type: "UIN", value: "U-4" },
    { type: "UIN", value: "U-5", reference_id: 4 },
    { type: "UIN", value: "U-6", reference_id: "b" },
  ]);
  for (const [format, text] of [["csv", csv], ["json", json]] as const) {
    const { count, dataDir, reader } = await readAll(format, cut(text, 5));
    try {
      assert.equal(count, 6);
      const { lookups } = await readSpoolPage(reader, 0, 10);
      const marked = lookups.map((l) => [l.ref, l.value, l.duplicate ?? false]);
      const expected = [
        ["a", "U-1", false],
        ["b", "U-2", false],
        ["a", "U-3", true],
        ["4", "U-4", false],
        ["4", "U-5", true],
        ["b", "U-6", true],
      ];
      assert.deepEqual(marked, expected, format);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  }
});

Deno.test("lookupReader() refuses a malformed file, naming the problem and where it is", async () => {
  const cases: Array<[string, "csv" | "json", string, RegExp]> = [
    ["no value column", "csv", "type,ref\nUIN,1\n", /must name the columns type and value/],
    ["empty value", "csv", "type,value\nUIN,1\nUIN,\n", /row 3: an idtype-value lookup needs a value/],
    ["bad type", "csv", "type,value\nU IN,1\n", /row 2: an idtype-value lookup needs a type/],
    ["unclosed quote", "csv", 'type,value\nUIN,"1\n', /the CSV file is malformed/],
    ["not an array", "json", '{"type":"UIN","value":"1"}', /must be an array of lookups/],
    ["truncated", "json", '[{"type":"UIN","value":"1"},', /the JSON file is malformed/],
    ["predicate item", "json", '[{"search_criteria":{"query_type":"predicate","query":[]}}]', /element 1/],
    ["empty", "json", "[]", /no lookups/],
    ["long value", "json", JSON.stringify([{ type: "UIN", value: "x".repeat(129) }]), /1 to 128 characters/],
    ["inexact number", "json", '[{"type":"UIN","value":12345678901234567890}]', /element 1: .*as a string/],
    ["fraction", "json", '[{"type":"UIN","value":1.5}]', /element 1: .*as a string/],
    ["column twice", "csv", "type,value,value\nUIN,1,2\n", /names the column value twice/],
  ];
  for (const [name, format, text, message] of cases) {
    await assert.rejects(readAll(format, cut(text, 5)), refusal(name, message));
  }
  await assert.rejects(
    readAll("csv", cut("type,value\nUIN,1\nUIN,2\nUIN,3\n", 4), 2),
    (err: unknown) => err instanceof BulkFileError && err.code === "rjct.total_count.limit_exceeded",
  );
});

Deno.test("lookupReader() bounds a JSON element's bytes and nesting before the parser builds it", async () => {
  const big = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const refused: Array<[string, string, RegExp]> = [
    // 100,000 open brackets: the parser would build every level (a few hundred bytes each) before any check.
    ["deep", "[" + "[".repeat(100_000), /element 1 of the JSON file is nested deeper than 16 levels/],
    [
      "long string",
      JSON.stringify([{ type: "UIN", value: "x".repeat(1_000_000) }]),
      /element 1 .*65536 bytes/,
    ],
    ["many keys", JSON.stringify([{ type: "UIN", value: "1" }, big(100_000)]), /element 2 .*65536 bytes/],
    ["long scalar", "[" + "1".repeat(100_000) + "]", /element 1 .*65536 bytes/],
    // Outside the array nothing counted the bytes, and the parser built the string whole: refused at its quote.
    ["top-level string", " ".repeat(20) + '"' + " ".repeat(2_000_000) + '"', /must be an array of lookups/],
    ["after the array", '[{"type":"UIN","value":"1"}] "' + "x".repeat(100_000), /nothing after it/],
  ];
  for (const [name, text, message] of refused) {
    await assert.rejects(readAll("json", cut(text, 1000)), refusal(name, message));
  }
  // Brackets, braces, commas and escaped quotes inside strings are not structure; pretty-printed spec items
  // (depth 5 here) and whitespace between elements are within the bounds. One-byte chunks split every escape.
  const tricky = '[]{},\\"[[[[[[[[[[[[[[[[[[[[';
  const items = [
    { type: "UIN", value: tricky, reference_id: "a" },
    {
      reference_id: "b",
      timestamp: "2026-12-03T00:00:00Z",
      search_criteria: {
        query_type: "idtype-value",
        query: { type: "UIN", value: "U-2" },
        sort: [{ attribute_name: "x", sort_order: "asc" }],
        consent: { ts: "2026-12-03T00:00:00Z", purpose: { text: "a [b] {c}", code: "x", ref_uri: "u" } },
      },
    },
  ];
  // Whitespace before the array, after it, and between elements is no element's.
  const text = " \n".repeat(20) +
    JSON.stringify(items, null, 2).replace("},\n", "},\n" + " ".repeat(10_000) + "\n") +
    "\n ";
  // A byte-order mark cut across the first chunks (as one-byte chunks cut it) is still a JSON array's start.
  for (const [size, bom] of [[1, "\ufeff"], [4096, ""]] as const) {
    const { count, dataDir, path } = await readAll("json", cut(bom + text, size));
    assert.equal(count, 2);
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, [["a", "UIN", tricky], ["b", "UIN", "U-2"]]);
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("lookupReader() bounds a CSV line's bytes, delimiters and quotes included, before csv-parse reads it", async () => {
  const refused: Array<[string, string, RegExp]> = [
    // csv-parse counts only the fields' characters: each comma added an empty field to the record, unbounded.
    ["commas", "type,value" + ",".repeat(1_000_000), /line 1 of the CSV file is longer than 16384 bytes/],
    ["empty quoted fields", "type,value\nUIN,1\n" + '"",'.repeat(100_000), /line 3 .*16384 bytes/],
    ["open quote", 'type,value\nUIN,"1\n' + "x\n".repeat(10_000), /line 2 .*a quote left open/],
  ];
  for (const [name, text, message] of refused) {
    await assert.rejects(readAll("csv", cut(text, 1000)), refusal(name, message));
  }
  // A quoted field's line breaks, doubled quotes and CRLF line ends are read as csv-parse reads them.
  const { count, dataDir, path } = await readAll(
    "csv",
    cut('type,value,reference_id\r\nUIN,"1",a\r\nUIN,"x""y",b\r\n', 3),
  );
  assert.equal(count, 2);
  assert.deepEqual(
    (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l)),
    [["a", "UIN", "1"], ["b", "UIN", 'x"y']],
  );
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("lookupReader() streams 1M lookups (about 30 MB) through a V8 heap capped at 24 MB", async () => {
  const child = new URL("./bulk_stream_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--max-old-space-size=24", "--allow-read", "--allow-write", child, "1000000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr.slice(-500));
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(result.count, 1_000_000);
  // The file would not fit the heap (and its parsed rows far less): the reader kept only what it was parsing.
  assert.ok(result.spoolBytes > 24 * 2 ** 20, `spool of ${result.spoolBytes} bytes`);
});

/** The answers of `lookups` by lookupIdentifiers() on social, and of each as an inline idtype-value search item. */
async function bulkAndInline(deps: TestDeps, lookups: Array<{ ref: string; type: string; value: string }>) {
  const ctx = { maxPageSize: deps.config.maxPageSize, maxResults: 1000, now: deps.clock.now() };
  return {
    bulk: await deps.storage.search.lookupIdentifiers(ctx, "social", lookups),
    inline: await Promise.all(
      lookups.map((l) =>
        searchOne(deps, { query_type: "idtype-value", query: { type: l.type, value: l.value } })
      ),
    ),
  };
}

Deno.test("lookupIdentifiers() answers each lookup exactly as an inline idtype-value search item does", async () => {
  const deps = await fixtureDeps();
  try {
    const lookups = [
      ...["U-1", "U-2", "U-3", "U-4", "U-5", "U-6", "U-7", "U-8"].map((v, i) => ({
        type: "UIN",
        value: v,
        i,
      })),
      { type: "urn:dci:id:brn", value: "B-3", i: 8 },
      { type: "BRN", value: "U-1", i: 9 },
      { type: "UIN", value: "NOBODY", i: 10 },
      { type: "HOUSEHOLD_ID", value: "H-1", i: 11 },
      { type: "!!", value: "U-1", i: 12 },
    ].map((l) => ({ ref: "r1", type: l.type, value: l.value }));
    const { bulk, inline } = await bulkAndInline(deps, lookups);
    assert.equal(bulk.length, lookups.length);
    let found = 0;
    lookups.forEach((l, i) => {
      assert.deepEqual(bulk[i], inline[i], `${l.type} ${l.value}`);
      found += bulk[i].data?.reg_records.length ?? 0;
    });
    // U-7 is deleted; BRN U-1, NOBODY and a household id find no person; "!!" is rejected.
    assert.equal(found, 8);
    assert.equal(bulk[12].status_reason_code, "rjct.filter.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("lookupIdentifiers() finds only live persons of its own registry: not a group, not another registry's record, a re-registered one again", async () => {
  const deps = await fixtureDeps();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const write = async (raw: Record<string, unknown>, profile = requireProfile("social")) => {
      const report = await deps.storage.registryLoad.writeAll([{ line: 1, raw }], { now, profile });
      assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
    };
    // A household holding a UIN (the person type's identifier type), and a CRVS person with the same UIN as P2.
    await write({
      id: "G9",
      record_type: "Group",
      group_identifier: [{ identifier_type: "UIN", identifier_value: "G-9" }],
    });
    await write({
      id: "CRVS-P2",
      identifier: [{ identifier_type: "UIN", identifier_value: "U-2" }],
      name: { given_name: "Other", surname: "Registry" },
      sex: "female",
      birth_date: "1990-01-01",
    }, requireProfile("crvs"));
    // P7, deleted by the fixture, registered again.
    await write({
      id: "P7",
      identifier: [{ identifier_type: "UIN", identifier_value: "U-7" }],
      name: { given_name: "Grace", surname: "Okafor" },
      sex: "female",
      birth_date: "1999-12-31",
    });
    const lookups = ["G-9", "U-2", "U-7"].map((value, i) => ({ ref: `r${i}`, type: "UIN", value }));
    const { bulk, inline } = await bulkAndInline(deps, lookups);
    lookups.forEach((l, i) => assert.deepEqual({ ...bulk[i], reference_id: "r1" }, inline[i], l.value));
    assert.deepEqual(bulk.map((b) => b.data?.reg_records.map((r) => r["@id"])), [[], ["P2"], ["P7"]]);
  } finally {
    deps.close();
  }
});

Deno.test("signedEnvelopeText() signs a canonical message text exactly as signedEnvelope() signs the object", async () => {
  const deps = await testDeps();
  try {
    const message = {
      transaction_id: "t",
      search_response: [{ reference_id: "r", note: "Ünïcode", n: 2.5 }],
    };
    const h = {
      action: "on-search" as const,
      status: "succ" as const,
      totalCount: 1,
      completedCount: 1,
      messageId: "m1",
    };
    const text = signedEnvelopeText(deps, h, canonicalJson(message, { asciiEscape: true }));
    const object = signedEnvelope(deps, h, message);
    const parsed = JSON.parse(text);
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(object)));
    assert.equal(parsed.signature, object.signature);
  } finally {
    deps.close();
  }
});
