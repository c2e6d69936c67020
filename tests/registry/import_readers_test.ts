/**
 * The import readers refuse what they cannot read faithfully instead of storing something else: bytes that are
 * not UTF-8, a CSV column given twice, an `identifiers` entry that is not TYPE:VALUE; and a JSON array's element
 * that is not an object is one rejected row, as an NDJSON line is.
 */
import assert from "node:assert/strict";
import { csvRecords } from "../../src/registry/csv.ts";
import { jsonArrayRecords, utf8Text } from "../../src/registry/sources.ts";
import { workerBatches } from "../../src/registry/parse_pool.ts";

async function* chunks(text: string, size = 7): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** `bytes` as a stream of chunks of `size` bytes. */
function byteStream(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
}

/** A Latin-1 export: "José" and "Müller" are one byte each, 0xE9 and 0xFC. */
const LATIN1 = Uint8Array.from(
  "id,given_name,surname\nL-1,Jos\xe9,M\xfcller\n",
  (c) => c.charCodeAt(0),
);

Deno.test("utf8Text() fails on bytes that are not UTF-8, naming the line and byte offset, in chunks of any size", async () => {
  for (const size of [1, 2, 3, 1000]) {
    await assert.rejects(
      () => collect(byteStream(LATIN1, size).pipeThrough(utf8Text())),
      /^Error: line 2: the file is not UTF-8 text: byte 0xE9 at byte offset 29 /,
      `chunks of ${size}`,
    );
  }
  // A file cut inside a character fails too; UTF-8 split anywhere decodes whole, its BOM dropped.
  const cut = new TextEncoder().encode("a\nb😀").slice(0, -2);
  await assert.rejects(() => collect(byteStream(cut, 2).pipeThrough(utf8Text())), /line 2: .* offset 3 /);
  const good = new TextEncoder().encode("\uFEFFid,name\nA,José 😀 Müller\n€");
  for (const size of [1, 2, 3, 1000]) {
    const text = (await collect(byteStream(good, size).pipeThrough(utf8Text()))).join("");
    assert.equal(text, "id,name\nA,José 😀 Müller\n€");
  }
});

Deno.test("workerBatches(): a Latin-1 import file fails with the line where it stops being UTF-8, storing no U+FFFD", async () => {
  const batches = workerBatches(byteStream(LATIN1, 4096), { format: "csv", batchSize: 10, now: () => "" });
  await assert.rejects(() => collect(batches), /line 2: the file is not UTF-8 text: byte 0xE9/);
});

Deno.test("csvRecords() refuses a column given twice (or region with region_code) before any row, naming it", async () => {
  const rows = (header: string) => collect(csvRecords(chunks(`${header}\nP1,Lee,Banda,Ann\n`)));
  await assert.rejects(
    () => rows("id,surname,surname,given_name"),
    /^Error: CSV column "surname" \(column 3\) repeats column 2 "surname"/,
  );
  await assert.rejects(() => rows("id,Surname,SURNAME,given_name"), /"SURNAME" \(column 3\) repeats/);
  await assert.rejects(
    () => rows("id,region,region_code,given_name"),
    /"region_code" \(column 3\) fills the same field as column 2 "region"/,
  );
  await assert.rejects(() => rows("id,id.UIN,id.uin,given_name"), /"id\.uin" \(column 3\) repeats/);
  // Attribute names keep their case: two names, two entries.
  assert.deepEqual((await rows("id,attr.note,attr.Note,given_name"))[0].raw, {
    id: "P1",
    name: { given_name: "Ann" },
    attributes: { note: "Lee", Note: "Banda" },
  });
});

Deno.test("csvRecords() rejects a row whose identifiers entry is not TYPE:VALUE, naming the cell, and reads on", async () => {
  const csv = "id,identifiers\nP1,UIN123\nP2,UIN:456|NID789\nP3,:7\nP4,UIN:\nP5,UIN:5|BRN:B-9\n";
  const out = await collect(csvRecords(chunks(csv)));
  assert.deepEqual(out.map((r) => [r.line, r.error ?? "ok"]), [
    [2, 'identifiers: "UIN123" is not TYPE:VALUE (e.g. UIN:123)'],
    [3, 'identifiers: "NID789" is not TYPE:VALUE (e.g. UIN:123)'],
    [4, 'identifiers: ":7" is not TYPE:VALUE (e.g. UIN:123)'],
    [5, 'identifiers: "UIN:" is not TYPE:VALUE (e.g. UIN:123)'],
    [6, "ok"],
  ]);
  assert.deepEqual(out[4].raw, {
    id: "P5",
    identifier: [
      { identifier_type: "UIN", identifier_value: "5" },
      { identifier_type: "BRN", identifier_value: "B-9" },
    ],
  });
});

Deno.test("csvRecords(): a URN identifier type ends at the entry's last colon; a code's value keeps its colons", async () => {
  const csv = "id,identifiers\nP1,urn:openspp:UIN:123|BRN:B:9| URN:gov:NID:77\nP2,urn:openspp:UIN:\n";
  const out = await collect(csvRecords(chunks(csv)));
  assert.deepEqual(out[0].raw, {
    id: "P1",
    identifier: [
      { identifier_type: "urn:openspp:UIN", identifier_value: "123" },
      { identifier_type: "BRN", identifier_value: "B:9" },
      { identifier_type: "URN:gov:NID", identifier_value: "77" },
    ],
  });
  assert.equal(out[1].error, 'identifiers: "urn:openspp:UIN:" is not TYPE:VALUE (e.g. UIN:123)');
});

Deno.test("jsonArrayRecords(): an element that is not an object is one rejected row; the others are read", async () => {
  const text = '[\n{"id":"A"},\n null ,3,"s\\"]x",\n[1,{"a":"]"}], true,{"id":"B"}, nul,\n{"id":"C"}]\n';
  for (const size of [1, 2, 5, 1000]) {
    const out = await collect(jsonArrayRecords(chunks(text, size)));
    const shown = (e?: string) => e?.startsWith("invalid JSON") ? "invalid JSON" : e;
    assert.deepEqual(out.map((r) => [r.line, (r.raw as { id?: string })?.id ?? shown(r.error)]), [
      [2, "A"],
      [3, "record must be a JSON object, found null"],
      [3, "record must be a JSON object, found 3"],
      [3, 'record must be a JSON object, found "s\\"]x"'],
      [4, 'record must be a JSON object, found [1,{"a":"]"}]'],
      [4, "record must be a JSON object, found true"],
      [4, "B"],
      [4, "invalid JSON"],
      [5, "C"],
    ], `chunks of ${size}`);
  }
});

Deno.test("jsonArrayRecords(): a file cut after a whole record, without its closing ], is refused after the records read", async () => {
  for (const text of ['[\n{"id":"A"},\n{"id":"B"},\n', '[{"id":"A"},{"id":"B"}', "[ "]) {
    const read: unknown[] = [];
    await assert.rejects(
      async () => {
        for await (const r of jsonArrayRecords(chunks(text, 3))) read.push((r.raw as { id?: string })?.id);
      },
      /the file ends before the array's closing "\]"/,
      JSON.stringify(text),
    );
    assert.ok(read.length <= 2);
  }
  // Whole arrays still read, an empty one included.
  assert.equal((await collect(jsonArrayRecords(chunks('[{"id":"A"}]')))).length, 1);
  assert.equal((await collect(jsonArrayRecords(chunks("[]\n")))).length, 0);
});

Deno.test("csvRecords() reads a row of empty cells (a spreadsheet's padding) as a blank line, not a record with no fields", async () => {
  const out = await collect(
    csvRecords(chunks("id,given_name,surname\nP1,Ann,Lee\n,,\n , ,\nP2,Bo,Diaz\n,,,\n")),
  );
  assert.deepEqual(out.map((r) => "raw" in r ? (r.raw as { id: string }).id : r.error), ["P1", "P2"]);
});

Deno.test("csvRecords(): text after a closing quote (a stray quote swallowing rows) is one rejected row naming its lines; the rows after it are read", async () => {
  const csv =
    'id,given_name,surname\nP-1,"Ann,Lee\nP-2,Bob,Ray\nP-3,"Cy",Zed\nP-4,"Di" ,Moyo\nP-5,"Ed"x,Ng\nP-6,Fay,Ode\n';
  for (const size of [3, 7, 4096]) {
    const out = await collect(csvRecords(chunks(csv, size)));
    assert.deepEqual(out.map((r) => [r.line, r.error ?? (r.raw as { id: string }).id]), [
      [
        2,
        'lines 2-4: text after a closing quote (an unbalanced quote? a quote inside a quoted cell is written "")',
      ],
      [5, "P-4"],
      [
        6,
        'line 6: text after a closing quote (an unbalanced quote? a quote inside a quoted cell is written "")',
      ],
      [7, "P-6"],
    ], `chunks of ${size}`);
  }
  // A space after the closing quote is no stray text: the cell is read (and trimmed) as before.
  const [p4] = (await collect(csvRecords(chunks(csv)))).filter((r) => r.line === 5);
  assert.deepEqual((p4.raw as { name: unknown }).name, { given_name: "Di", surname: "Moyo" });
  await assert.rejects(
    () => collect(csvRecords(chunks('"id"x,given_name\nP-1,Ann\n'))),
    /the header row: line 1: text/,
  );
});

Deno.test("csvRecords() refuses an id.<TYPE> column whose type no identifier can have, before any row", async () => {
  await assert.rejects(
    () => collect(csvRecords(chunks("id,id.1st_id\nP-1,A9\n"))),
    /CSV column "id\.1st_id" is not in the column mapping.*id\.<TYPE> \(a type is a letter/,
  );
  assert.equal((await collect(csvRecords(chunks("id,id.nat_id-2\nP-1,A9\n"))))[0].error, undefined);
});
