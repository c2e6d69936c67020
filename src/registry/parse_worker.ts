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
import { BATCH_RECORDS } from "./prepared.ts";
import { ChunkReader } from "./parse_chunks.ts";
import { requireProfile } from "../registries/index.ts";

let reader: ChunkReader | undefined;

/** The `now` of each chunk asked for and not made yet; `pumping` while they are being made. */
const asked: string[] = [];
let pumping = false;

/** Makes the chunks asked for, one at a time (the reader is one stream), while the writer writes. */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (asked.length > 0) {
      const batch = await reader!.next(asked.shift()!);
      self.postMessage({ batch, bytes: reader!.bytes });
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
      // The worker has the built-in profiles only (parse_pool.ts reads a deployment's own registry in its isolate).
      const profile = requireProfile(m.registry ?? "social");
      const source = await ChunkReader.streamOf(m.stream ?? m.path!);
      reader = new ChunkReader(source, m.format!, profile, m.batchSize ?? BATCH_RECORDS, m.sortRows ?? true);
      self.postMessage({ ready: true });
      return;
    }
    asked.push(m.now!);
    await pump();
  } catch (err) {
    self.postMessage({ error: (err as Error).message });
  }
};
