/**
 * Explaining a failed database open looks at the data dir and its files without opening them: it runs in a server
 * whose other connections hold POSIX locks on dci.sqlite, -wal and -shm, and closing any descriptor of a file drops
 * every lock the process holds on it (another process's connection could then delete the WAL under the server).
 */
import assert from "node:assert/strict";
import { explainOpenFailure } from "../../src/db/open_failure.ts";

Deno.test("explainOpenFailure() never opens the database, its WAL or its shared memory file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-open-failure-" });
  const path = `${dir}/dci.sqlite`;
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    await Deno.writeFile(f, new Uint8Array(), { mode: 0o600 });
  }
  const opened: string[] = [];
  const { openSync, open } = Deno;
  Deno.openSync = ((p: string | URL, o?: Deno.OpenOptions) => {
    opened.push(String(p));
    return openSync(p, o);
  }) as typeof Deno.openSync;
  Deno.open = ((p: string | URL, o?: Deno.OpenOptions) => {
    opened.push(String(p));
    return open(p, o);
  }) as typeof Deno.open;
  try {
    const explained = explainOpenFailure(path, new Error("unable to open database file")) as Error;
    assert.match(explained.message, new RegExp(`cannot open the database ${path}: the cause is unknown`));
    assert.deepEqual(opened.filter((p) => p.startsWith(path)), []);
  } finally {
    Deno.openSync = openSync;
    Deno.open = open;
    await Deno.remove(dir, { recursive: true });
  }
});
