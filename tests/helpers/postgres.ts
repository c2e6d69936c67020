/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, the server on 127.0.0.1 at a free
 * port with its unix socket inside that directory, a random password (SCRAM) for the one role, stopped and removed
 * by `stop()`, or at process exit when a failing test never reached it. initdb and postgres refuse to run as
 * root, so as root every command runs as the `postgres` system user (`runuser`), which then owns the directory.
 *
 * When PostgreSQL is not installed or does not start, `startPostgres()` throws with the reason: a test that needs it
 * fails loudly and is never skipped (.ci/run installs Debian's `postgresql` when absent).
 */

/** A running throwaway cluster. */
export interface TestPostgres {
  /** `postgres://dci:<password>@127.0.0.1:<port>/postgres` */
  url: string;
  /** The temporary directory holding the data dir, the unix socket and the server log. */
  dir: string;
  /** The URL of a new, empty database of this cluster (each test that wants isolation creates its own). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (immediate shutdown) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

const ROLE = "dci";

/** The directory of initdb, pg_ctl and postgres: Debian's newest /usr/lib/postgresql/N/bin, else the PATH. */
function binDir(): string {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => Number(e.name)).filter((n) =>
      n > 0
    )
      .sort((a, b) => b - a);
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (exists(`${dir}/initdb`)) return dir;
    }
  } catch { /* not Debian's layout */ }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) if (dir && exists(`${dir}/initdb`)) return dir;
  throw new Error(
    "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on the PATH): " +
      "install Debian's `postgresql` package (.ci/run does)",
  );
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const asRoot = Deno.uid() === 0;

/** The command line that runs `cmd` as the cluster's owner (the `postgres` user when we are root). */
function ownerArgs(cmd: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

async function run(cmd: string, args: string[]): Promise<void> {
  const [c, a] = ownerArgs(cmd, args);
  const out = await new Deno.Command(c, { args: a, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  if (!out.success) {
    const text = new TextDecoder();
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${out.code}): ${text.decode(out.stderr)}${
        text.decode(out.stdout)
      }`,
    );
  }
}

/** The uid and gid of the `postgres` system user (Debian's package creates it). */
async function postgresUser(): Promise<[number, number]> {
  const out = await new Deno.Command("id", { args: ["postgres"], stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const uid = /uid=(\d+)/.exec(text)?.[1];
  const gid = /gid=(\d+)/.exec(text)?.[1];
  if (!out.success || !uid || !gid) {
    throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as");
  }
  return [Number(uid), Number(gid)];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts a fresh cluster and waits until it accepts connections. `keep: true` leaves it running when this process
 * exits (tests/helpers/pg_cluster.ts: one cluster for the whole suite, stopped by `stopPostgresDir`).
 */
export async function startPostgres(options: { keep?: boolean } = {}): Promise<TestPostgres> {
  const bin = binDir();
  const dir = await Deno.makeTempDir({ prefix: "dci-pg-" });
  const data = `${dir}/data`;
  const password = crypto.randomUUID().replaceAll("-", "");
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    const [c, a] = ownerArgs(`${bin}/pg_ctl`, ["stop", "-D", data, "-m", "immediate", "-s"]);
    try {
      new Deno.Command(c, { args: a, stdout: "null", stderr: "null" }).outputSync();
    } catch { /* already gone */ }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  };
  // A test that throws before its finally, or a process that exits early, still leaves no server behind.
  if (!options.keep) globalThis.addEventListener("unload", stopSync);
  try {
    // The password travels in a file only the owner reads, never on a command line.
    const pwfile = `${dir}/pw`;
    await Deno.writeTextFile(pwfile, password, { mode: 0o600 });
    if (asRoot) {
      const [uid, gid] = await postgresUser();
      await Deno.chown(pwfile, uid, gid);
      await Deno.chown(dir, uid, gid);
    }
    await run(`${bin}/initdb`, [
      "-D",
      data,
      "-U",
      ROLE,
      `--pwfile=${pwfile}`,
      // TCP needs the password; the socket sits in the 0700 directory only the owner can enter.
      "--auth-host=scram-sha-256",
      "--auth-local=trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ]);
    await Deno.remove(pwfile);
    // Durability is not what these tests are about: no fsync makes a cluster's start and writes cheap.
    const options = [
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    let port = 0;
    for (let attempt = 1;; attempt++) {
      port = freePort();
      try {
        await run(`${bin}/pg_ctl`, [
          "start",
          "-D",
          data,
          "-w",
          "-t",
          "30",
          "-s",
          "-l",
          `${dir}/log`,
          "-o",
          `-p ${port} ${options}`,
        ]);
        break;
      } catch (err) {
        // Another process may have taken the port between our probe and the server's bind.
        if (attempt >= 3) throw new Error(`${err}\n${await Deno.readTextFile(`${dir}/log`).catch(() => "")}`);
      }
    }
    const base = `postgres://${ROLE}:${password}@127.0.0.1:${port}`;
    return {
      url: `${base}/postgres`,
      dir,
      async createDatabase(name: string) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
        await run(`${bin}/psql`, [
          "-h",
          dir,
          "-p",
          String(port),
          "-U",
          ROLE,
          "-d",
          "postgres",
          "-v",
          "ON_ERROR_STOP=1",
          "-q",
          "-c",
          `CREATE DATABASE ${name}`,
        ]);
        return `${base}/${name}`;
      },
      stop() {
        globalThis.removeEventListener("unload", stopSync);
        stopSync();
        return Promise.resolve();
      },
    };
  } catch (err) {
    globalThis.removeEventListener("unload", stopSync);
    stopSync();
    throw err;
  }
}

/** Stops the cluster whose directory `startPostgres({ keep: true })` returned, and removes the directory. */
export function stopPostgresDir(dir: string): void {
  const [c, a] = ownerArgs(`${binDir()}/pg_ctl`, ["stop", "-D", `${dir}/data`, "-m", "immediate", "-s"]);
  try {
    new Deno.Command(c, { args: a, stdout: "null", stderr: "null" }).outputSync();
  } catch { /* already gone */ }
  Deno.removeSync(dir, { recursive: true });
}

/**
 * The environment variable naming a running cluster's admin URL (`postgres://dci:…@127.0.0.1:port/postgres`) that
 * tests share instead of each file starting its own: `.ci/run` starts one for the whole suite.
 */
export const SHARED_PG_ENV = "DCI_TEST_PG_URL";

/** The test process's cluster: its admin URL, and new databases on it (optionally copies of a template). */
export interface SharedPostgres {
  url: string;
  createDatabase(name: string, options?: { template?: string }): Promise<string>;
}

let shared: Promise<SharedPostgres> | undefined;

/**
 * The URL of a new database of the shared cluster named `prefix` and a random suffix (optionally a copy of
 * `template`): empty, unless copied, for a test to migrate as it needs.
 */
export async function newPgDatabase(prefix: string, options: { template?: string } = {}): Promise<string> {
  const cluster = await sharedPostgres();
  return await cluster.createDatabase(
    `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`,
    options,
  );
}

/**
 * A cluster for this test process: the one named by DCI_TEST_PG_URL when set, else one started at the first call
 * and stopped when the process exits. Each caller then creates its own database (`createDatabase`).
 */
export function sharedPostgres(): Promise<SharedPostgres> {
  shared ??= (async () => {
    const url = Deno.env.get(SHARED_PG_ENV) ?? (await startPostgres()).url;
    return {
      url,
      createDatabase: async (name: string, options: { template?: string } = {}) => {
        for (const n of [name, options.template ?? name]) {
          if (!/^[a-z_][a-z0-9_]{0,62}$/.test(n)) throw new Error(`bad database name ${n}`);
        }
        const { default: pg } = await import("pg");
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          if (!options.template) await client.query(`CREATE DATABASE ${name}`);
          else {
            // A file copy of a template (PostgreSQL 15+; older ones only copy that way) is several times
            // faster here than WAL_LOG, 15's default, which writes every page of the copy to the WAL.
            const copy = `CREATE DATABASE ${name} TEMPLATE ${options.template}`;
            await client.query(`${copy} STRATEGY FILE_COPY`).catch(async (err) => {
              if (!/strategy/i.test(String(err))) throw err;
              await client.query(copy);
            });
          }
        } finally {
          await client.end();
        }
        const u = new URL(url);
        u.pathname = `/${name}`;
        return u.toString();
      },
    };
  })();
  return shared;
}
