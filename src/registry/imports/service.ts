/**
 * Starting an import job: the one service the admin API and the console both call. The upload is spooled
 * (Storage `importSpools`: a file on SQLite, rows on PostgreSQL), a queued job row is committed, then the worker
 * is woken (the sweeper finds the job anyway).
 */
import type { Deps } from "../../deps.ts";
import { DciError } from "../../dci/errors.ts";
import { servedRegistries } from "../../actions/registries.ts";
import type { RegistryProfile } from "../../registries/profile.ts";
import type { ImportJob } from "./store.ts";
import { uploadFormat } from "./spool.ts";

/** The queue message kind that wakes the import runner (the id is the job's). */
export const IMPORT_KIND = "registry-import";

/** The served registry named `name`, or the 404 every registry route answers for one not served. */
export function servedProfile(deps: Deps, name: string): RegistryProfile {
  const served = servedRegistries(deps.config, deps.extensions?.registries).served;
  const profile = served.find((p) => p.name === name);
  if (!profile) throw new DciError("err.request.not_found", `No registry "${name}" is served here`);
  return profile;
}

/** What an upload says about itself. */
export interface UploadInfo {
  /** The file name as the client gave it (display only). */
  fileName?: string;
  contentType?: string;
  /** An explicit format: csv, ndjson or json. */
  format?: string;
  /** The admin token id that uploaded it. */
  actor?: string;
}

/**
 * Spools `body` and queues its import into `profile`'s registry; resolves with the queued job. A body over the
 * upload limit fails with the limit's 413 (the counting stream's error), leaving no file and no job.
 */
export async function startImport(
  deps: Deps,
  profile: RegistryProfile,
  body: ReadableStream<Uint8Array>,
  info: UploadInfo = {},
): Promise<ImportJob> {
  const spooled = await deps.storage.importSpools.write(body);
  let id: number;
  try {
    let format;
    try {
      format = uploadFormat(spooled, info);
    } catch (e) {
      throw new DciError("err.request.bad", (e as Error).message);
    }
    if (spooled.bytes === 0) throw new DciError("err.request.bad", "The uploaded file is empty");
    // Refused whole, before a job writes any of it (the reader would meet the byte only after earlier batches).
    if (spooled.notUtf8) {
      throw new DciError("err.request.bad", `The uploaded file is refused: ${spooled.notUtf8}`);
    }
    // Shown in pages and logs: control characters (a forged line break) are dropped.
    // deno-lint-ignore no-control-regex
    const fileName = (info.fileName ?? "").replace(/[\u0000-\u001f\u007f]/g, "").slice(0, 200) || "upload";
    id = await deps.storage.importJobs.create({
      registry: profile.name,
      format,
      fileName,
      bytes: spooled.bytes,
      spoolFile: spooled.name,
      actor: info.actor,
    }, new Date(deps.clock.now()).toISOString());
  } catch (err) {
    await deps.storage.importSpools.remove(spooled.name);
    throw err;
  }
  // The job is committed: a lost wake-up only delays it until the sweeper's next pass.
  await deps.queue.enqueue({ kind: IMPORT_KIND, id: String(id) }).catch((err) =>
    deps.log.warn("import wake-up not sent; the sweeper will start it", { id, err })
  );
  return (await deps.storage.importJobs.get(id))!;
}
