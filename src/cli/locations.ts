/** `dci-server registry import-locations FILE`: replaces the place hierarchy of /.well-known/locations.json. */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import { printReport, progress } from "./registry.ts";
import { detectFormat, utf8Text } from "../registry/sources.ts";
import { placeRows, readPlaces } from "../locations/import.ts";
import { LEVELS } from "../locations/model.ts";

async function counted(path: string, onBytes: (n: number) => void): Promise<AsyncIterable<string>> {
  const file = await Deno.open(path, { read: true });
  let bytes = 0;
  return file.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        onBytes(bytes += chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  ).pipeThrough(utf8Text()); // fatal, as the registry import reads: a Windows-1252 export is refused, not mangled
}

async function firstChar(path: string): Promise<{ size: number; first: string | undefined }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new CliFailure(`cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(64);
    const n = (await file.read(head)) ?? 0;
    return {
      size,
      first: new TextDecoder().decode(head.subarray(0, n)).replace(/^\uFEFF/, "").trimStart()[0],
    };
  } finally {
    file.close();
  }
}

const importLocationsCommand: Command = {
  summary:
    "Replace the place hierarchy (/.well-known/locations.json) from CSV, JSON or NDJSON: all or nothing",
  usage: "FILE [--format csv|json|ndjson]",
  args: [1, 1],
  options: {
    format: {
      type: "string",
      description:
        "csv, json (an array of rows, or a LocationHierarchy document) or ndjson (default: from the " +
        "extension / content)",
    },
  },
  examples: ["registry import-locations places.csv", "registry import-locations hierarchy.json --json"],
  async run({ config, positionals, values, print }) {
    const path = positionals[0];
    const { size, first } = await firstChar(path);
    let format;
    try {
      format = detectFormat(path, first, values.format as string | undefined);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    let readBytes = 0;
    const bar = progress(`import-locations ${format}`, () => size ? readBytes / size : 1);
    let read;
    try {
      const chunks = await counted(path, (n) => readBytes = n);
      read = await readPlaces(placeRows(format, first, chunks), (r) => bar.update(r));
      bar.update(read.report, true);
    } catch (e) {
      throw new CliFailure(`${path}: ${(e as Error).message}; the hierarchy is unchanged`);
    } finally {
      bar.done();
    }
    const { places, report } = read;
    if (report.rejectedCount > 0 || places.length === 0) {
      // The report goes to stdout (under --json too); the refusal follows as the error.
      printReport(print, report, bar.seconds(), { extra: { imported: false } });
      throw new CliFailure(
        places.length === 0 && report.rejectedCount === 0
          ? `${path} has no places; the hierarchy is unchanged`
          : "nothing imported: a hierarchy is replaced whole, so fix the rejected rows and import again " +
            "(the hierarchy is unchanged)",
      );
    }
    await withDeps(config(), async (deps) => {
      const name = path.split(/[\\/]/).pop() ?? path;
      const now = new Date(deps.clock.now()).toISOString();
      const r = await deps.storage.locations.replace(places.map((p) => p.place), { source: name, now });
      const counts = LEVELS.map((l) => `${places.filter((p) => p.place.level === l).length} ${l}`);
      const levels = Object.fromEntries(
        LEVELS.map((l) => [l, places.filter((p) => p.place.level === l).length]),
      );
      printReport(print, { ...report, registered: r.added, updated: r.kept }, bar.seconds(), {
        extra: { imported: true, version: r.version, levels, removed: r.removed },
        after: `hierarchy version ${r.version}: ${counts.join(", ")}; ${r.removed} places removed`,
      });
    }, { create: true }); // data may be loaded into a new data dir before the server first starts
  },
};

/** The locations commands of the registry group. */
export const locationCommands: CommandTree = { "import-locations": importLocationsCommand };
