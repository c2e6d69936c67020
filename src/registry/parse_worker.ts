/**
 * The import's parse worker (a Web Worker): reads the file, parses and checks records and serialises them
 * (`prepareRecord`) while the main thread writes the previous batch to SQLite, so a bulk load uses two cores.
 * Protocol: `{path or stream, format, batchSize, sortRows}` to start (`stream`: the file's bytes, transferred); each
 * `{now}` asks for one more chunk (at most CHUNK_RECORDS of the current batch; `now` is the batch's import time
 * when the chunk starts one). Chunks asked for are made one after the other, in order, each answered with
 * `{batch, bytes}` (`batch` null at the end; `batch.last` when it ends its batch) or `{error}` when the file
 * cannot be read on.
 */
/// <reference lib="deno.worker" />
import type { ImportFormat } from "./sources.ts";
import { recordsOf, utf8Text } from "./sources.ts";
import type { SourceRecord } from "./batch.ts";
import {
  BATCH_RECORDS,
  CHUNK_RECORDS,
  chunkOf,
  type PreparedBatch,
  type PreparedRecord,
  prepareRecord,
} from "./prepared.ts";
import { requireProfile } from "../registries/index.ts";
import type { RegistryProfile } from "../registries/profile.ts";

let records: AsyncIterator<SourceRecord> | undefined;
let batchSize = BATCH_RECORDS;
let profile: RegistryProfile | undefined;
let bytes = 0;
/** Whether chunks carry their keyed rows in key order (`chunkOf`); a load that stages them needs none. */
let sortRows = true;
/** Records of the current batch sent so far, and the batch's import time. */
let inBatch = 0;
let batchNow = "";

async function open(source: string | ReadableStream<Uint8Array>, format: ImportFormat): Promise<void> {
  const readable = typeof source === "string" ? (await Deno.open(source, { read: true })).readable : source;
  const counted = readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        bytes += chunk.byteLength;
        c.enqueue(chunk);
      },
    }),
  ).pipeThrough(utf8Text());
  records = recordsOf(format, counted, profile)[Symbol.asyncIterator]();
}

async function next(now: string): Promise<PreparedBatch | null> {
  if (inBatch === 0) batchNow = now;
  const want = Math.min(CHUNK_RECORDS, batchSize - inBatch);
  const out: PreparedRecord[] = [];
  let ended = false;
  while (out.length < want) {
    const r = await records!.next();
    if (r.done) {
      ended = true;
      break;
    }
    out.push(prepareRecord(r.value, batchNow, profile));
  }
  inBatch += out.length;
  const last = ended || inBatch >= batchSize;
  if (last) inBatch = 0;
  return out.length > 0 ? chunkOf(batchNow, out, last, sortRows) : null;
}

/** The `now` of each chunk asked for and not made yet; `pumping` while they are being made. */
const asked: string[] = [];
let pumping = false;

/** Makes the chunks asked for, one at a time (the reader is one stream), while the writer writes. */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (asked.length > 0) {
      const batch = await next(asked.shift()!);
      self.postMessage({ batch, bytes });
      if (!batch) asked.length = 0;
    }
  } catch (err) {
    asked.length = 0;
    self.postMessage({ error: (err as Error).message });
  } finally {
    pumping = false;
  }
}

self.onmessage = async (e: MessageEvent) => {
  const m = e.data as {
    path?: string;
    stream?: ReadableStream<Uint8Array>;
    format?: ImportFormat;
    batchSize?: number;
    registry?: string;
    sortRows?: boolean;
    now?: string;
  };
  try {
    if (m.path !== undefined || m.stream !== undefined) {
      batchSize = m.batchSize ?? batchSize;
      sortRows = m.sortRows ?? true;
      // The worker has the built-in profiles only (a profile registered at run time is imported in process).
      profile = requireProfile(m.registry ?? "social");
      await open(m.stream ?? m.path!, m.format!);
      self.postMessage({ ready: true });
      return;
    }
    asked.push(m.now!);
    await pump();
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  }
};
