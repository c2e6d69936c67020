/**
 * A bulk upload's parts and bytes: a second file or a repeated part is refused, not dropped; fileFormat is read
 * in any case; a file that is not UTF-8 is refused naming the byte; only an upload over DCI_BULK_MAX_FILE_BYTES is
 * 413, a file too large inside (an element, a row) 400.
 */
import assert from "node:assert/strict";
import { BulkFileError, lookupReader } from "../../src/transactions/bulk_file.ts";
import { receiveUpload } from "../../src/transactions/bulk_upload.ts";
import { UploadHeader } from "../../src/actions/bulk_route.ts";
import { sqliteSpoolStore } from "../../src/transactions/spool_store.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { createApp } from "../helpers/app.ts";
import { bulkForm, type Form } from "./bulk_support.ts";

const enc = new TextEncoder();
const CSV = "reference_id,type,value\nr1,UIN,X1\nr2,UIN,X2\n";
const JSON_FILE = '[{"type":"UIN","value":"X1"}]';

/** One part of a hand-made multipart body: a text field, or a file when `filename` is given. */
interface Part {
  name: string;
  body: string | Uint8Array;
  filename?: string;
  type?: string;
}

/** A multipart/form-data body of `parts` in this order (FormData cannot repeat a file part by name in order). */
function multipart(parts: Part[]): Form {
  const boundary = `b-${crypto.randomUUID()}`;
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ""}`;
    const type = p.filename ? `\r\nContent-Type: ${p.type ?? "application/octet-stream"}` : "";
    chunks.push(enc.encode(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`));
    chunks.push(typeof p.body === "string" ? enc.encode(p.body) : p.body);
    chunks.push(enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The FileInfo text parts of an upload. */
function fields(fileFormat?: string): Part[] {
  return [
    { name: "action", body: "search" },
    ...(fileFormat === undefined ? [] : [{ name: "fileFormat", body: fileFormat }]),
    { name: "header", body: "{}" },
  ];
}

/** Receives `form` into a spool of a temporary data dir; resolves with the upload and the spools left. */
async function receive(form: Form, options: { maxBytes?: number } = {}) {
  const dataDir = await Deno.makeTempDir({ prefix: "bulk-parts-" });
  const db = openDatabase(":memory:");
  const spool = `${crypto.randomUUID()}.lookups`;
  try {
    const upload = await receiveUpload(
      new Request("http://localhost/", {
        method: "POST",
        headers: { "content-type": form.contentType },
        body: form.bytes as BodyInit,
      }),
      { spools: sqliteSpoolStore(db, dataDir), spool, maxItems: 100, maxBytes: options.maxBytes ?? 1 << 20 },
    );
    return { upload, left: [...Deno.readDirSync(`${dataDir}/bulk`)].map((e) => e.name) };
  } catch (err) {
    const left = await Array.fromAsync(Deno.readDir(`${dataDir}/bulk`)).catch(() => []);
    assert.deepEqual(left, [], "a refused upload leaves no spool");
    throw err;
  } finally {
    db.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Asserts `p` rejects with a 400 err.request.bad BulkFileError whose message matches `message`. */
async function refused(p: Promise<unknown>, message: RegExp, name = String(message)): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BulkFileError, `${name}: ${err}`);
    assert.equal(err.code, "err.request.bad", name);
    assert.equal(err.status, 400, name);
    assert.match(err.message, message, name);
    return true;
  });
}

Deno.test("receiveUpload() refuses a second file part instead of dropping it and ACKing the first", async () => {
  const file = (body: string) => ({ name: "fileName", body, filename: "a.csv", type: "text/csv" });
  await refused(
    receive(multipart([...fields("csv"), file(CSV), file("reference_id,type,value\nr3,UIN,X3\n")])),
    /^the upload has more than one file part$/,
  );
  // Also when the second file is sent under another name.
  await refused(
    receive(multipart([...fields("csv"), file(CSV), { ...file(CSV), name: "more" }])),
    /more than one file part|must be named "fileName"/,
  );
});

Deno.test("receiveUpload() refuses a fileName part sent without a filename, saying it must be a file part", async () => {
  await refused(
    receive(multipart([...fields("csv"), { name: "fileName", body: CSV }])),
    /^the part "fileName" must be sent as a file, with a filename in its Content-Disposition/,
  );
});

Deno.test("receiveUpload() refuses a text part sent twice", async () => {
  const file = { name: "fileName", body: CSV, filename: "a.csv" };
  for (const name of ["header", "fileFormat", "action", "transaction_id"]) {
    const parts = [...fields("csv"), { name: "transaction_id", body: "t1" }];
    const twice = [...parts, { name, body: parts.find((p) => p.name === name)!.body }];
    await refused(
      receive(multipart([...twice.slice(0, 2), file, ...twice.slice(2)])),
      new RegExp(`^form part "${name}" is sent more than once$`),
      name,
    );
  }
  // The same count of parts, none repeated, is taken.
  const once = multipart([...fields("csv"), { name: "transaction_id", body: "t1" }, file]);
  assert.equal((await receive(once)).upload.items, 2);
});

Deno.test("receiveUpload() reads fileFormat in any case and with spaces, before or after the file", async () => {
  const json = { name: "fileName", body: JSON_FILE, filename: "lookups.txt" };
  const csv = { name: "fileName", body: CSV, filename: "lookups.csv" };
  for (
    const [declared, file, format] of [["JSON", json, "json"], [" csv ", csv, "csv"], [
      "Csv",
      csv,
      "csv",
    ]] as const
  ) {
    const before = await receive(multipart([...fields(declared), file]));
    assert.equal(before.upload.format, format, `${JSON.stringify(declared)} before the file`);
    assert.equal(before.upload.items, format === "csv" ? 2 : 1);
    assert.equal(before.left.length, 1);
  }
  // After the file, the format its name suggested must be the one named.
  const after = await receive(multipart([...fields(), csv, { name: "fileFormat", body: "CSV" }]));
  assert.equal(after.upload.format, "csv");
  await refused(
    receive(multipart([...fields(), csv, { name: "fileFormat", body: "json" }])),
    /^the fileFormat part must come before the file part$/,
  );
  await refused(
    receive(multipart([...fields(), csv, { name: "fileFormat", body: "xml" }])),
    /^fileFormat must be one of json, csv$/,
  );
  await refused(receive(multipart([...fields("xml"), csv])), /^fileFormat must be one of json, csv$/);
});

Deno.test("receiveUpload() refuses a file that is not UTF-8, naming the byte; a UTF-8 one with a BOM is taken", async () => {
  const latin1 = new Uint8Array([...enc.encode("type,value\nUIN,M"), 0xfc, ...enc.encode("ller\n")]);
  await refused(
    receive(multipart([...fields("csv"), { name: "fileName", body: latin1, filename: "a.csv" }])),
    /^the file is not UTF-8 \(at byte 17\)$/,
  );
  const json = new Uint8Array([...enc.encode('[{"type":"UIN","value":"ab'), 0xff, ...enc.encode('"}]')]);
  await refused(
    receive(multipart([...fields("json"), { name: "fileName", body: json, filename: "a.json" }])),
    /^the file is not UTF-8 \(at byte 27\)$/,
  );
  const bom = enc.encode("\ufeff" + CSV.replace("X1", "Ünï"));
  const taken = await receive(
    multipart([...fields("csv"), { name: "fileName", body: bom, filename: "a.csv" }]),
  );
  assert.equal(taken.upload.items, 2);
});

Deno.test("lookupReader() finds the first byte that is not UTF-8 in any chunking, a cut sequence at the end too", async () => {
  const head = enc.encode("type,value\nUIN,é"); // 17 bytes, é is 2 of them
  // "€" is 3 bytes (18 to 20), "\u{10FFFF}" 4 (21 to 24): each bad sequence begins at byte 25.
  const cases: Array<[string, number[]]> = [
    ["a lone continuation byte", [0x80]],
    ["a Latin-1 ü", [0xfc, 0x41]],
    ["an overlong slash", [0xc0, 0xaf]],
    ["a surrogate", [0xed, 0xa0, 0x80]],
    ["a lead byte then ASCII", [0xe2, 0x82, 0x41]],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a 3-byte sequence cut by the end of the file", [0xe2, 0x82]],
  ];
  for (const [name, bad] of cases) {
    const bytes = new Uint8Array([
      ...head,
      ...enc.encode("€\u{10FFFF}"),
      ...bad,
      ...(name.includes("end") ? [] : [0x0a]),
    ]);
    for (const size of [1, 2, 3, 5, 4096]) {
      const reader = lookupReader("csv", { line() {} }, { maxItems: 10 });
      const read = async () => {
        for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
        await reader.end();
      };
      await refused(read(), /^the file is not UTF-8 \(at byte 25\)$/, `${name}, ${size}`);
    }
  }
});

/** An upload of `form`, signed (RFC 9421 over its Content-Digest) by `sender`, through the app. */
function signedUpload(app: ReturnType<typeof createApp>, sender: TestSender, form: Form, nowMs: number) {
  const url = "http://localhost/registry/search";
  const headers: Record<string, string> = {
    ...sender.headers(),
    "content-type": form.contentType,
    "content-digest": contentDigest(form.bytes),
  };
  const s = signHttpRequest({ method: "POST", url, headers: new Headers(headers) }, sender.privateKey, {
    keyId: sender.keyId,
    components: ["@method", "@path", "content-digest"],
    created: Math.floor(nowMs / 1000),
  });
  headers["signature-input"] = s.signatureInput;
  headers["signature"] = s.signature;
  return app.request(url, { method: "POST", headers, body: form.bytes as BodyInit });
}

Deno.test("a bulk upload with an element or row too large is refused 400; only one over DCI_BULK_MAX_FILE_BYTES is 413", async () => {
  const deps = await testDeps({ bulkMaxFileBytes: String(200_000) });
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const form = (format: "csv" | "json", file: string) =>
      bulkForm(alice.senderId, { format, file, senderUri: "https://cb.example.org/cb" });
    const cases: Array<[string, "csv" | "json", string, number, RegExp]> = [
      [
        "a JSON element too large",
        "json",
        JSON.stringify([{ type: "UIN", value: "a".repeat(100_000) }]),
        400,
        /element 1 of the JSON file is larger than 65536 bytes/,
      ],
      [
        "a CSV row too large",
        "csv",
        "type,value\nUIN," + "a".repeat(100_000) + "\n",
        400,
        /line 2 of the CSV file is longer than 16384 bytes/,
      ],
      [
        "a file over the limit",
        "csv",
        "type,value\n" + "UIN,X1\n".repeat(40_000),
        413,
        /the upload is larger than 200000 bytes/,
      ],
    ];
    for (const [name, format, file, status, message] of cases) {
      const res = await signedUpload(app, alice, await form(format, file), deps.clock.now());
      const body = await res.json();
      assert.equal(res.status, status, `${name}: ${JSON.stringify(body)}`);
      assert.equal(body.message.error.code, "err.request.bad", name);
      assert.match(body.message.error.message, message, name);
    }
  } finally {
    deps.close();
  }
});

Deno.test("a bulk search stored when marking it pending fails (shutting down, a held lock) is ACKed and keeps its spool", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    // No worker in this process (so the queue, then the mark), and the mark fails after the row committed.
    deps.queue.wake = undefined;
    deps.storage.transactions.markPending = () => Promise.reject(new Error("database is locked"));
    const form = await bulkForm(alice.senderId, {
      format: "csv",
      file: "type,value\nUIN,X1\nUIN,X2\n",
      senderUri: "https://cb.example.org/cb",
    });
    const res = await signedUpload(app, alice, form, deps.clock.now());
    const body = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    const rows = await deps.sql(
      "SELECT t.state, b.spool FROM transactions t JOIN bulk_searches b ON b.txn = t.id",
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].state, "received", "left for the sweeper");
    // Its lookups are still there for the worker to answer.
    const page = await deps.storage.spools.reader(String(rows[0].spool)).read(0, 10);
    assert.equal(page.lines.length, 2, "the spool was kept");
  } finally {
    deps.close();
  }
});

Deno.test("the upload's header part reads total_count as the JSON route does: digits in a string, null as absent", () => {
  const header = {
    version: "1.0.0",
    message_id: "m-1",
    message_ts: "2026-12-06T10:00:00Z",
    action: "search",
    sender_id: "partner-a",
  };
  const count = (total_count: unknown) => {
    const r = UploadHeader.safeParse({ ...header, total_count });
    return r.success ? r.data.total_count : "refused";
  };
  assert.equal(count("250"), 250, "as the spec's samples send it");
  assert.equal(count(null), undefined, "as Pydantic dumps send an unset field");
  assert.equal(count(undefined), undefined);
  assert.equal(count(3), 3);
  assert.equal(count("x"), "refused");
  assert.equal(count(-1), "refused");
});
