/**
 * Reading an import file chunk by chunk: the parse worker's work (parse_worker.ts), also done in the caller's
 * isolate for a registry the worker does not know (a deployment's own, registered at run time).
 */
import { type ImportFormat, recordsOf, utf8Text } from "./sources.ts";
import type { SourceRecord } from "./batch.ts";
import {
  CHUNK_RECORDS,
  chunkOf,
  type PreparedBatch,
  type PreparedRecord,
  prepareRecord,
} from "./prepared.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/**
 * The records of one file, read and prepared a chunk at a time: at most CHUNK_RECORDS of the current batch of
 * `batchSize`; a chunk's `now` is its batch's import time when it starts one.
 */
export class ChunkReader {
  /** Bytes of the file read so far. */
  bytes = 0;
  #records: AsyncIterator<SourceRecord>;
  /** Records of the current batch made so far, and the batch's import time. */
  #inBatch = 0;
  #batchNow = "";

  /** `sortRows`: whether chunks carry their keyed rows in key order (`chunkOf`); a load that stages them needs none. */
  constructor(
    source: ReadableStream<Uint8Array>,
    format: ImportFormat,
    readonly profile: RegistryProfile,
    readonly batchSize: number,
    readonly sortRows: boolean,
  ) {
    const counted = source.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, c) => {
          this.bytes += chunk.byteLength;
          c.enqueue(chunk);
        },
      }),
    ).pipeThrough(utf8Text());
    this.#records = recordsOf(format, counted, profile)[Symbol.asyncIterator]();
  }

  /** A file's path or its bytes, as a stream. */
  static async streamOf(source: string | ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
    return typeof source === "string" ? (await Deno.open(source, { read: true })).readable : source;
  }

  /** The next chunk, or null at the end of the file. */
  async next(now: string): Promise<PreparedBatch | null> {
    if (this.#inBatch === 0) this.#batchNow = now;
    const want = Math.min(CHUNK_RECORDS, this.batchSize - this.#inBatch);
    const out: PreparedRecord[] = [];
    let ended = false;
    while (out.length < want) {
      const r = await this.#records.next();
      if (r.done) {
        ended = true;
        break;
      }
      out.push(prepareRecord(r.value, this.#batchNow, this.profile));
    }
    this.#inBatch += out.length;
    const last = ended || this.#inBatch >= this.batchSize;
    if (last) this.#inBatch = 0;
    return out.length > 0 ? chunkOf(this.#batchNow, out, last, this.sortRows) : null;
  }

  /** Stops reading the file (its stream is cancelled). */
  async close(): Promise<void> {
    await this.#records.return?.();
  }
}
