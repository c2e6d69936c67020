/**
 * Reading an import file in the parse worker (parse_worker.ts), one chunk ahead of the writer; a deployment's own
 * registry, which the worker does not know, in the caller's isolate (`localBatches`).
 */
import type { PreparedBatch } from "./prepared.ts";
import type { ImportFormat } from "./sources.ts";
import { ChunkReader } from "./parse_chunks.ts";
import { isBuiltIn, profileOf } from "../registries/index.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/**
 * The parse worker's refusal of the file (a bad header, a line that is not UTF-8): the file's fault, never the
 * storage's, whatever its message quotes from the file (a header cell `database is locked` must not pause the job
 * for good as a held lock would).
 */
export class ParseError extends Error {}

/**
 * What an import is read from: a file's path (the worker opens it), or a stream of the file's bytes (transferred
 * to the worker: a spool another instance received, read from PostgreSQL as the parser goes).
 */
export type ImportSource = string | ReadableStream<Uint8Array>;

type Reply = { ready?: true; batch?: PreparedBatch | null; bytes?: number; error?: string };

/**
 * Chunks the worker may parse ahead of the writer: enough to keep it busy while the writer commits a batch (its
 * value rows go in then), few enough that memory stays a few chunks.
 */
export const PARSE_AHEAD = 4;

/**
 * The prepared chunks of the batches of the file `source` (see PreparedBatch), parsed in a worker up to
 * PARSE_AHEAD chunks ahead of the caller's writes: memory is bounded by chunks, whatever the batch size, and
 * parsing goes on while the writer commits a batch. `onBytes` gets the bytes read so far (for a progress bar).
 */
export async function* workerBatches(
  source: ImportSource,
  options: {
    format: ImportFormat;
    batchSize: number;
    now: () => string;
    /** The registry whose records the file holds (social when not given). */
    registry?: string;
    /** False when the load stages its keyed rows (`RegistryLoadStore.stagesKeyedRows`): the worker need not sort them. */
    sortRows?: boolean;
    onBytes?: (n: number) => void;
  },
): AsyncGenerator<PreparedBatch> {
  const profile = profileOf(options.registry ?? "social");
  if (profile && !isBuiltIn(profile)) {
    yield* localBatches(source, options, profile);
    return;
  }
  const worker = new Worker(new URL("./parse_worker.ts", import.meta.url), { type: "module" });
  const replies: Reply[] = [];
  let wake: (() => void) | undefined;
  worker.onmessage = (e: MessageEvent<Reply>) => {
    replies.push(e.data);
    wake?.();
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    replies.push({ error: e.message });
    wake?.();
  };
  const reply = async (): Promise<Reply> => {
    while (replies.length === 0) await new Promise<void>((r) => wake = r);
    const r = replies.shift()!;
    if (r.error !== undefined) throw new ParseError(r.error);
    return r;
  };
  try {
    const start = {
      format: options.format,
      batchSize: options.batchSize,
      registry: options.registry,
      sortRows: options.sortRows ?? true,
    };
    if (typeof source === "string") worker.postMessage({ ...start, path: source });
    else worker.postMessage({ ...start, stream: source }, [source as unknown as Transferable]);
    await reply();
    // A batch's chunks share the time its first was asked with (the worker keeps it).
    for (let k = 0; k < PARSE_AHEAD; k++) worker.postMessage({ now: options.now() });
    for (;;) {
      const r = await reply();
      options.onBytes?.(r.bytes ?? 0);
      if (!r.batch) return;
      // Ask for another chunk before handing this one over: parsing overlaps the caller's write.
      worker.postMessage({ now: options.now() });
      yield r.batch;
    }
  } finally {
    worker.terminate();
  }
}

/**
 * The batches of a registry the worker does not know (a deployment's own, registered in this isolate at start),
 * read here: one chunk at a time, between the writer's commits. Any failure to read or parse is the file's
 * (ParseError), as the worker's is.
 */
async function* localBatches(
  source: ImportSource,
  options: Parameters<typeof workerBatches>[1],
  profile: RegistryProfile,
): AsyncGenerator<PreparedBatch> {
  let reader: ChunkReader | undefined;
  const read = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      throw new ParseError((err as Error)?.message ?? String(err));
    }
  };
  try {
    const stream = await read(() => ChunkReader.streamOf(source));
    reader = new ChunkReader(stream, options.format, profile, options.batchSize, options.sortRows ?? true);
    for (;;) {
      const batch = await read(() => reader!.next(options.now()));
      options.onBytes?.(reader.bytes);
      if (!batch) return;
      yield batch;
    }
  } finally {
    await reader?.close().catch(() => {});
  }
}
