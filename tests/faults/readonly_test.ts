/**
 * A data dir the server cannot write: it exits non-zero at start with a message naming the path and the cause
 * (read-only file system, permission denied, a file in the way), not SQLite's bare "unable to open database
 * file". Running as root, `chmod` stops nothing, so the faults are real ones made in namespaces: a read-only
 * bind mount (`unshare -rm`), and a dir owned by a user that is not mapped into a user namespace (`unshare -r`:
 * root there has no power over it, so writing is refused with EACCES).
 */
import assert from "node:assert/strict";
import { RUN_FLAGS } from "../helpers/runtime.ts";
import { runCliProcess } from "../helpers/server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Runs `argv` and returns its exit code and output. */
async function run(argv: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { DCI_PORT: "0", DCI_HOST: "127.0.0.1", DCI_SEED_DEMO: "false", DCI_LOG_LEVEL: "error", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined);
  const text = new TextDecoder();
  return out && { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** `main.ts serve` as an argv. */
const SERVE = [Deno.execPath(), "run", "-A", ...RUN_FLAGS, MAIN, "serve"];

/** `argv` run with `dir` bind-mounted read-only over itself, in a private mount namespace. */
function readOnly(dir: string, argv: string[]): string[] {
  return [
    "unshare",
    "-rm",
    "--",
    "sh",
    "-c",
    'mount --bind -o ro "$1" "$1" && shift && exec "$@"',
    "sh",
    dir,
    ...argv,
  ];
}

const probeDir = await Deno.makeTempDir({ prefix: "dci-ro-probe-" });
const canMount = (await run(readOnly(probeDir, ["true"])))?.code === 0;
await Deno.remove(probeDir);

/** Asserts a start-up failure: non-zero exit, and stderr naming `path` and matching `cause`. */
function assertRefused(out: { code: number; stderr: string } | undefined, path: string, cause: RegExp) {
  assert.ok(out, "the server ran");
  assert.notEqual(out.code, 0, `exit code; stderr: ${out.stderr}`);
  assert.ok(out.stderr.includes(path), `stderr names ${path}: ${out.stderr}`);
  assert.match(out.stderr, cause);
  assert.doesNotMatch(out.stderr, /panicked/);
}

Deno.test({
  name: canMount
    ? "serve on a read-only data dir holding a database exits non-zero naming the dir and 'read-only file system'"
    : "serve on a read-only data dir — NOT RUN: unshare -rm (mount namespace) is not permitted here",
  ignore: !canMount,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dci-ro-" });
    try {
      const migrated = await runCliProcess(["migrate"], { DCI_DATA_DIR: dir });
      assert.equal(migrated.code, 0, migrated.stderr);
      const out = await run(readOnly(dir, SERVE), { DCI_DATA_DIR: dir });
      assertRefused(out, dir, /data dir .* is on a read-only file system/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: canMount
    ? "serve on an empty read-only data dir, or a missing one under a read-only parent, names the path and cause"
    : "serve on an empty read-only data dir — NOT RUN: unshare -rm (mount namespace) is not permitted here",
  ignore: !canMount,
  fn: async () => {
    const parent = await Deno.makeTempDir({ prefix: "dci-ro-" });
    try {
      await Deno.mkdir(`${parent}/data`);
      const empty = await run(readOnly(`${parent}/data`, SERVE), { DCI_DATA_DIR: `${parent}/data` });
      assertRefused(empty, `${parent}/data`, /read-only file system/);
      const missing = await run(readOnly(parent, SERVE), { DCI_DATA_DIR: `${parent}/new` });
      assertRefused(missing, `${parent}/new`, /cannot create the data dir .*read-only file system/);
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});

const userNamespaces = (await run(["unshare", "-r", "--", "true"]))?.code === 0 && Deno.uid() === 0;

Deno.test({
  name: userNamespaces
    ? "serve on a data dir its user may not write exits non-zero naming the dir and 'permission denied'"
    : "serve on a data dir it may not write — NOT RUN: needs root and unshare -r (user namespaces)",
  ignore: !userNamespaces,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dci-perm-" });
    try {
      // Owned by a uid outside the namespace's mapping: root inside it may not write there.
      await Deno.chown(dir, 54321, 54321);
      await Deno.chmod(dir, 0o755);
      const out = await run(["unshare", "-r", "--", ...SERVE], { DCI_DATA_DIR: dir });
      assertRefused(out, dir, /permission denied/i);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve with a file where the data dir should be exits non-zero naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-file-" });
  try {
    await Deno.writeTextFile(`${dir}/data`, "not a dir");
    const out = await run(SERVE, { DCI_DATA_DIR: `${dir}/data` });
    assertRefused(out, `${dir}/data`, /a file is in the way/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
