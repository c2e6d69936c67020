/**
 * The test suite's two passes: every test file on the embedded SQLite backend (`deno task test`, what CI runs), and
 * every test file whose behaviour depends on the storage backend again on PostgreSQL (`deno task test:pg`;
 * `DCI_TEST_BACKEND=postgres`, so that testDeps (tests/helpers/deps.ts) and every server or CLI process
 * (tests/helpers/server.ts) are on a fresh database of one shared test cluster); `deno task test:all` runs both.
 * Exits non-zero when a pass fails.
 *
 * The second pass's files: a test file depends on the backend when it reaches, through its imports inside tests/,
 * the test deps, the server or CLI processes, or the server's own deps (src/deps.ts). Left out, each printed with
 * why:
 * - files that reach none of them (pure units: a canonical form, a parser, the query compiler's text): they run the
 *   same code on either pass, so a second run would prove nothing;
 * - tests/storage/ and the other files that already run each case on both backends (`backendTest`) or start
 *   PostgreSQL themselves;
 * - the files in SQLITE_ONLY (tests/sqlite_only.ts): they test parts only the embedded backend has.
 *
 * Arguments: `--sqlite` or `--pg` (that pass only); paths select among the files; arguments after `--` go to
 * `deno test`. `--durations LOG` prints each file's seconds from a `deno test` log (NO_COLOR) as JSON, for
 * tests/durations.json.
 *
 * Order: the files of tests/durations.json start first, longest first, then the rest by path. `deno test
 * --parallel` starts files in the order given, so a long file no longer starts last and runs on alone at the end.
 *
 * `DCI_TESTS_TYPECHECKED=1`: the test files were type-checked already (`deno task check` covers tests/; .ci/run
 * sets it once that check passed), so neither pass checks them again (~15 s of two cores); without it the first
 * pass checks them and the PostgreSQL pass, whose files are among them, does not check them twice.
 */
import { SQLITE_ONLY } from "./sqlite_only.ts";
import { SHARED_PG_ENV, startPostgres } from "./helpers/postgres.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A file's local imports (relative specifiers), resolved to paths under the repository. */
function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(ROOT + path);
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    const url = new URL(m[1], `file://${ROOT}${path}`);
    out.push(url.pathname.slice(ROOT.length));
  }
  return out;
}

/** What makes a file depend on the backend (reached through tests/ imports). */
const BACKEND_ENTRIES = ["tests/helpers/deps.ts", "tests/helpers/server.ts", "src/deps.ts"];
/** What marks a file that already runs on both backends, or on PostgreSQL only. */
const BOTH_ENTRIES = [
  "tests/helpers/storage.ts",
  "tests/helpers/postgres.ts",
  "tests/helpers/pg_instances.ts",
];

const reach = new Map<string, Set<string>>();

/** The entries (BACKEND_ENTRIES and BOTH_ENTRIES) `path` reaches through imports inside tests/. */
function reached(path: string, seen = new Set<string>()): Set<string> {
  const known = reach.get(path);
  if (known) return known;
  const found = new Set<string>();
  seen.add(path);
  for (const dep of importsOf(path)) {
    if (BACKEND_ENTRIES.includes(dep) || BOTH_ENTRIES.includes(dep)) found.add(dep);
    if (dep.startsWith("tests/") && dep.endsWith(".ts") && !seen.has(dep)) {
      for (const e of reached(dep, seen)) found.add(e);
    }
  }
  reach.set(path, found);
  return found;
}

/** Every test file under tests/, sorted. */
function testFiles(dir = "tests"): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(ROOT + dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...testFiles(path));
    else if (entry.name.endsWith("_test.ts")) out.push(path);
  }
  return out.sort();
}

/** The pass's files, and the files left out with the reason. */
export function plan(): { run: string[]; left: Array<{ path: string; why: string }> } {
  const run: string[] = [];
  const left: Array<{ path: string; why: string }> = [];
  for (const path of testFiles()) {
    const entries = reached(path);
    const direct = new Set(importsOf(path));
    if (SQLITE_ONLY[path]) left.push({ path, why: `SQLite only: ${SQLITE_ONLY[path]}` });
    else if (path.startsWith("tests/storage/") || BOTH_ENTRIES.some((e) => direct.has(e))) {
      left.push({ path, why: "already on both backends (or PostgreSQL itself) in the first pass" });
    } else if (!BACKEND_ENTRIES.some((e) => entries.has(e))) {
      left.push({
        path,
        why: "no backend: reaches neither test deps, a server process nor the server's deps",
      });
    } else run.push(path);
  }
  return { run, left };
}

/**
 * `files` with the long ones first, longest first, by tests/durations.json (seconds per file from a CI run's log,
 * `--durations`); the others after them in their order.
 */
export function longestFirst(files: string[]): string[] {
  const seconds: Record<string, number> = JSON.parse(Deno.readTextFileSync(`${ROOT}tests/durations.json`));
  const known = files.filter((f) => seconds[f] !== undefined).sort((a, b) => seconds[b] - seconds[a]);
  return [...known, ...files.filter((f) => seconds[f] === undefined)];
}

/**
 * Each test file's total seconds in a `deno test` log without colours: the sum of its top-level tests' times
 * (`./tests/x_test.ts => name ... ok (1m2s)`; steps, whose names hold " ... ", are inside their test's time).
 */
export function durationsOf(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  const line = /^\.\/(tests\/\S+_test\.ts) => (.*) \.\.\. (?:ok|FAILED) \((?:(\d+)m)?(?:([\d.]+)(ms|s))?\)$/;
  for (const text of log.split("\n")) {
    const m = line.exec(text);
    if (!m || m[2].includes(" ... ")) continue;
    const seconds = Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0) / (m[5] === "ms" ? 1000 : 1);
    out[m[1]] = (out[m[1]] ?? 0) + seconds;
  }
  return out;
}

/** Runs `deno test` on `files` with `env` (`checked`: without type-checking them); resolves with its exit code. */
async function denoTest(
  files: string[],
  extra: string[],
  env: Record<string, string>,
  checked: boolean,
): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--parallel", ...(checked ? ["--no-check"] : []), ...extra, ...files],
    cwd: ROOT,
    env,
  }).spawn();
  return (await child.status).code;
}

if (import.meta.main && Deno.args[0] === "--durations") {
  // The files of 3 s or more, rounded to the second: enough to order them.
  const all = durationsOf(Deno.readTextFileSync(Deno.args[1]));
  const long = Object.entries(all).filter(([, s]) => s >= 3).sort(([a], [b]) => a < b ? -1 : 1);
  console.log(JSON.stringify(Object.fromEntries(long.map(([f, s]) => [f, Math.round(s)])), null, 2));
  Deno.exit(0);
}

if (import.meta.main) {
  const args = Deno.args.filter((a) => a !== "--pg" && a !== "--sqlite");
  const sqlite = !Deno.args.includes("--pg");
  const postgres = !Deno.args.includes("--sqlite");
  const sep = args.indexOf("--");
  const chosen = (sep >= 0 ? args.slice(0, sep) : args).map((c) => c.replace(/^\.\//, ""));
  const extra = sep >= 0 ? args.slice(sep + 1) : [];
  const { run, left } = plan();
  for (const path of Object.keys(SQLITE_ONLY)) {
    if (!run.includes(path) && !left.some((l) => l.path === path)) {
      console.error(`tests/sqlite_only.ts names ${path}, which is no test file`);
      Deno.exit(1);
    }
  }
  // The tests' temporary files (data dirs of server processes, spools, keys) under one directory of the run,
  // removed at its end: thousands of them, ~1 MB each, would otherwise stay behind after every run.
  const tmp = await Deno.makeTempDir({ prefix: "dci-tests-" });
  // Passable (not listable) by others: run as root, the tests' PostgreSQL clusters run as `postgres` inside it.
  await Deno.chmod(tmp, 0o711);
  Deno.env.set("TMPDIR", tmp);
  let cluster: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let code = 0;
  try {
    // Both passes share one cluster: .ci/run's (DCI_TEST_PG_URL), or one started here for the run.
    cluster = Deno.env.get(SHARED_PG_ENV) ? undefined : await startPostgres();
    const env: Record<string, string> = { TMPDIR: tmp, ...cluster ? { [SHARED_PG_ENV]: cluster.url } : {} };
    const typechecked = Deno.env.get("DCI_TESTS_TYPECHECKED") === "1";
    if (sqlite) {
      code = await denoTest(chosen.length ? chosen : longestFirst(testFiles()), extra, env, typechecked);
    }
    const files = !postgres
      ? []
      : chosen.length
      ? run.filter((p) => chosen.some((c) => p.startsWith(c)))
      : longestFirst(run);
    if (postgres && chosen.length === 0) {
      console.log(`\nThe PostgreSQL pass: ${run.length} test files; ${left.length} left out:`);
      for (const l of left) console.log(`  ${l.path}: ${l.why}`);
    }
    const pgEnv = { ...env, DCI_TEST_BACKEND: "postgres" };
    if (files.length) code = await denoTest(files, extra, pgEnv, typechecked || sqlite) || code;
  } finally {
    await cluster?.stop();
    await Deno.remove(tmp, { recursive: true }).catch((err) => console.error(`${tmp} not removed: ${err}`));
  }
  Deno.exit(code);
}
