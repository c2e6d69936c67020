/** Reading an import file in the parse worker (parse_worker.ts), one chunk ahead of the writer. */
import type { PreparedBatch } from "./batch.ts";
import type { ImportFormat } from "./sources.ts";

type Reply = { ready?: true; batch?: PreparedBatch | null; bytes?: number; error?: string };

/**
 * The prepared chunks of the batches of the file at `path` (see PreparedBatch), parsed in a worker while the
 * caller writes the previous one: at most two chunks are in memory, whatever the batch size. `onBytes` gets the
 * bytes read so far (for a progress bar).
 */
export async function* workerBatches(
  path: string,
  options: {
    format: ImportFormat;
    batchSize: number;
    now: () => string;
    /** The registry whose records the file holds (social when not given). */
    registry?: string;
    onBytes?: (n: number) => void;
  },
): AsyncGenerator<PreparedBatch> {
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
    if (r.error !== undefined) throw new Error(r.error);
    return r;
  };
  try {
    worker.postMessage({
      path,
      format: options.format,
      batchSize: options.batchSize,
      registry: options.registry,
    });
    await reply();
    worker.postMessage({ now: options.now() });
    for (;;) {
      const r = await reply();
      options.onBytes?.(r.bytes ?? 0);
      if (!r.batch) return;
      // Ask for the next chunk before handing this one over: parsing overlaps the caller's write. A batch's
      // chunks share the time its first was asked with (the worker keeps it).
      worker.postMessage({ now: r.batch.last === false ? r.batch.now : options.now() });
      yield r.batch;
    }
  } finally {
    worker.terminate();
  }
}
