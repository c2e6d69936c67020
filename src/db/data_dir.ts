/**
 * The data dir holds the server's secrets (signing keys, token hashes, sender data), so it is owner-only: the
 * directory 0700 and the SQLite and KV files 0600. Looser modes found at start are tightened and reported.
 */
import { lchown } from "node:fs/promises";
import { dirname, resolve, sep as SEP } from "node:path";

/**
 * The files under the data dir that the server owns (SQLite and Deno KV, with their WAL, SHM and journal, and
 * the data-dir and worker locks of src/db/data_dir_lock.ts).
 */
const DATA_FILE = /^(dci\.sqlite|kv\.sqlite3|serve\.lock|worker\.lock)(-wal|-shm|-journal)?$/;

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** One permission change made at start, for the warning (paths and modes only, never contents). */
export interface ModeFix {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/** Modes are POSIX only; on Windows the ACLs of the parent apply and nothing is changed here. */
const POSIX = Deno.build.os !== "windows";

/**
 * Creates `dir` owner-only if missing (0700) and tightens it if it is looser; creates each of `files` empty
 * with 0600 before SQLite or KV opens it, because SQLite creates a database 0644 (less the umask) and gives its
 * WAL and SHM files the database file's mode. Returns what it changed.
 */
export async function prepareDataDir(dir: string, files: string[]): Promise<ModeFix[]> {
  await Deno.mkdir(dir, { recursive: true, mode: DIR_MODE });
  if (!POSIX) return [];
  const fixes: ModeFix[] = [];
  const mode = (await Deno.stat(dir)).mode ?? DIR_MODE;
  if (mode & 0o077) fixes.push(await tighten(dir, mode, DIR_MODE));
  for (const path of files) {
    try {
      await Deno.writeFile(path, new Uint8Array(), { createNew: true, mode: FILE_MODE });
      // Made by a root-run command in the service's data dir: the service must open it at its next start.
      giveNewFileToDataDirOwner(dir, path);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  return [...fixes, ...await tightenDataFiles(dir)];
}

/**
 * Gives `path`, just created by this process, to the data dir's owner when this process is root and the dir is
 * another user's (an operator's `sudo dci-server …` on the service's data dir): a database, KV file or lock file
 * left root's 0600 stops the service's next start.
 */
export function giveNewFileToDataDirOwner(dataDir: string, path: string): void {
  if (!POSIX || Deno.uid() !== 0) return;
  const owner = Deno.statSync(dataDir);
  if (owner.uid === null || owner.uid === 0) return;
  Deno.chownSync(path, owner.uid, owner.gid);
}

/** Sets every data file in `dir` looser than 0600 to 0600 (files SQLite or KV created meanwhile included). */
export async function tightenDataFiles(dir: string): Promise<ModeFix[]> {
  if (!POSIX) return [];
  const fixes: ModeFix[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !DATA_FILE.test(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    try {
      const mode = (await Deno.stat(path)).mode ?? FILE_MODE;
      if (mode & 0o077) fixes.push(await tighten(path, mode, FILE_MODE));
    } catch (err) {
      // A -wal or -shm file removed by a closing connection between the listing and the stat.
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return fixes;
}

/** Sets `path` to `to`; a path this user may not chmod (another owner) is reported, not fatal. */
async function tighten(path: string, from: number, to: number): Promise<ModeFix> {
  try {
    await Deno.chmod(path, to);
    return { path, from: octal(from), to: octal(to) };
  } catch (err) {
    if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    return { path, from: octal(from), to: `${octal(from)} (not changed: not the owner)` };
  }
}

/**
 * Whether a root command is to give backup dir `dir` to the data dir's owner (giveToDataDirOwner): when it lies
 * inside the data dir (the default place, the server's own), or does not exist yet (the command makes it). A dir the
 * operator made elsewhere (a group-shared dir, as the unit file's DCI_BACKUP_DIR note has it; a mount point) keeps
 * its owner and group.
 */
async function backupDirIsServers(dataDir: string, dir: string): Promise<boolean> {
  if (resolve(dir).startsWith(resolve(dataDir) + SEP)) return true;
  return await Deno.lstat(dir).then(() => false, () => true);
}

/**
 * Runs `work`, which may make backup dir `dir`; then, run as root, gives the dir to the data dir's owner when
 * backupDirIsServers said so before `work` ran, whether it succeeded or not (a first backup that failed must not
 * leave the dir it made root's).
 */
export async function makingBackupDir<T>(dataDir: string, dir: string, work: () => Promise<T>): Promise<T> {
  const give = await backupDirIsServers(dataDir, dir);
  return await work().finally(() => give ? giveToDataDirOwner(dataDir, [dir]) : undefined);
}

/**
 * Run as root on a data dir another user owns (the service's user: an operator's `sudo dci-server backup` or
 * `restore`), gives each of `paths` that root owns to that user, so the server can still open, write and prune
 * what the command made there (the backup dir, a restored database); a server that cannot write its backup dir
 * fails its next start's pre-migration backup. Nothing otherwise (SQLite gives the WAL and SHM files it makes as
 * root to the database's owner itself). The backup dir is given through makingBackupDir.
 */
export async function giveToDataDirOwner(dataDir: string, paths: string[]): Promise<void> {
  if (!POSIX || Deno.uid() !== 0) return;
  const owner = await Deno.stat(dataDir);
  if (owner.uid === null || owner.uid === 0) return;
  for (const path of paths) {
    const info = await Deno.lstat(path).catch(() => undefined);
    // Not through a link (chown follows it: an operator's dir it names would be given away), nor a mount point
    // (a directory on another file system than its parent's: the operator's).
    if (!info || info.isSymlink || (info.isDirectory && await mountPoint(path, info))) continue;
    // lchown: a path swapped for a link between the check and the change (by whoever owns the data dir) has the
    // link changed, never what it names.
    if (info.uid === 0) await lchown(path, owner.uid, owner.gid ?? owner.uid);
  }
}

/** Whether directory `path` (its lstat `info`) is on another file system than its parent. */
async function mountPoint(path: string, info: Deno.FileInfo): Promise<boolean> {
  const parent = await Deno.stat(dirname(resolve(path))).catch(() => undefined);
  return info.dev !== null && parent?.dev != null && info.dev !== parent.dev;
}
