/**
 * Explaining why the database could not be opened. SQLite says only "unable to open database file" (or "attempt
 * to write a readonly database"), with no path and no cause; the operator needs both: which file or dir, and
 * whether it is missing, on a read-only file system, or not writable by the server's user.
 */

const SQLITE_OPEN_FAILURE = /unable to open database file|readonly database|disk I\/O error/i;

/**
 * The error to report for `err`, thrown while opening the SQLite file at `path`: a message naming the path and
 * the cause found on the file system, or `err` itself when it is not an open failure.
 */
export function explainOpenFailure(path: string, err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (path === ":memory:" || !SQLITE_OPEN_FAILURE.test(message)) return err;
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  return new Error(
    `cannot open the database ${path}: ${
      diagnose(dir, path) ?? "the cause is unknown"
    }. The server creates and writes dci.sqlite, ` +
      `dci.sqlite-wal, dci.sqlite-shm and kv.sqlite3 in its data dir (DCI_DATA_DIR), so the dir and those ` +
      `files must be writable by the user it runs as (SQLite said: ${message})`,
    { cause: err },
  );
}

/**
 * The error to report when preparing the data dir `dir` failed (`err` from creating it or its files): the path
 * and the cause found on the file system.
 */
export function explainDataDirFailure(dir: string, err: unknown): Error {
  const code = (err as { code?: unknown }).code;
  let exists = true;
  try {
    Deno.statSync(dir);
  } catch {
    exists = false;
  }
  let message: string;
  if (code === "EEXIST" || code === "ENOTDIR") {
    message = `cannot create the data dir ${dir}: a file is in the way (the path must be a directory)`;
  } else if (!exists) {
    const cause = code === "EROFS"
      ? "it would be on a read-only file system"
      : err instanceof Deno.errors.PermissionDenied || code === "EACCES"
      ? `permission denied (the server runs as uid ${uid()}; its parent dir must be writable by it)`
      : reason(err);
    message = `cannot create the data dir ${dir}: ${cause}`;
  } else {
    const found = diagnose(dir, `${dir}/dci.sqlite`);
    message = `cannot use the data dir ${dir}: ${found === undefined ? reason(err) : found}`;
  }
  return new Error(`${message} (DCI_DATA_DIR; ${reason(err)})`, { cause: err });
}

/** What is wrong with `dir` or the database files in it, found by looking (and by a test write), if anything. */
function diagnose(dir: string, path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return `the data dir ${dir} does not exist`;
    return `the data dir ${dir} cannot be read (${reason(err)})`;
  }
  if (!info.isDirectory) return `${dir} is not a directory`;
  const probe = `${dir}/.dci-write-test-${Deno.pid}`;
  try {
    Deno.writeFileSync(probe, new Uint8Array(), { createNew: true });
    Deno.removeSync(probe);
  } catch (err) {
    return `the data dir ${dir} ${cannotWrite(err, info)}`;
  }
  // The files are looked at, never opened: this runs in a server whose other connections hold POSIX locks on
  // them, and closing any descriptor of a file drops all of the process's locks on it (another process's
  // connection could then delete the WAL under the server's commits).
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let fileInfo: Deno.FileInfo;
    try {
      fileInfo = Deno.statSync(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      return `the file ${file} cannot be read (${reason(err)})`;
    }
    if (!writableByMode(fileInfo)) {
      return `the file ${file} ${cannotWrite(new Deno.errors.PermissionDenied("by its mode"), fileInfo)}`;
    }
  }
  return undefined;
}

/**
 * Whether this process may write a file by its owner, group and mode (root may write any). The process's
 * supplementary groups are not known here: a file writable through one of them only is taken as writable.
 */
function writableByMode(info: Deno.FileInfo): boolean {
  if (info.mode === null || info.uid === null) return true;
  let me: number | null;
  let group: number | null;
  try {
    me = Deno.uid();
    group = Deno.gid();
  } catch {
    return true; // --allow-sys not granted: nothing to compare with
  }
  if (me === null || me === 0) return true;
  if (info.uid === me) return (info.mode & 0o200) !== 0;
  if (info.gid === group) return (info.mode & 0o020) !== 0;
  return (info.mode & 0o022) !== 0;
}

/** "is on a read-only file system", "is not writable by this process (…)", … */
function cannotWrite(err: unknown, info: Deno.FileInfo): string {
  const code = (err as { code?: unknown }).code;
  if (code === "EROFS") return "is on a read-only file system";
  if (err instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    const mode = info.mode === null ? "" : `, mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}`;
    return `is not writable by this process: permission denied (the server runs as uid ${uid()}; ` +
      `it is owned by uid ${info.uid ?? "?"}${mode})`;
  }
  if (code === "ENOSPC") return "is on a full disk";
  return `cannot be written (${reason(err)})`;
}

function uid(): string {
  try {
    return String(Deno.uid() ?? "?");
  } catch {
    return "?"; // --allow-sys not granted
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
