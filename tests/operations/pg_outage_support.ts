/**
 * Faults of a throwaway PostgreSQL cluster (tests/helpers/postgres.ts) for outage tests: stopped and started again
 * on the same port (a restart, a fail-over), or every process of it frozen (SIGSTOP: a primary that accepts TCP and
 * answers nothing, as a hung host or a silent partition looks to an established connection).
 */
import type { TestPostgres } from "../helpers/postgres.ts";

/** Stop, start, freeze and thaw of one running cluster. */
export interface ClusterFaults {
  /** Fast shutdown; waits until it is down. */
  stop(): Promise<void>;
  /** Starts it again on its port with the options tests/helpers/postgres.ts gave it. */
  start(): Promise<void>;
  /** SIGSTOPs the postmaster and every backend. */
  freeze(): Promise<void>;
  /** SIGCONTs what `freeze` stopped (also safe when nothing is frozen). */
  thaw(): void;
}

/** The newest Debian PostgreSQL bin dir (the one tests/helpers/postgres.ts starts clusters with). */
function binDir(): string {
  const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => Number(e.name)).filter((n) =>
    n > 0
  );
  return `/usr/lib/postgresql/${Math.max(...versions)}/bin`;
}

/** Faults of `cluster` (its data dir is `${dir}/data`, its port the URL's). */
export function clusterFaults(cluster: TestPostgres): ClusterFaults {
  const bin = binDir();
  const data = `${cluster.dir}/data`;
  const port = new URL(cluster.url).port;
  const pgctl = async (args: string[]) => {
    const [cmd, a] = Deno.uid() === 0
      ? ["runuser", ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args]]
      : [`${bin}/pg_ctl`, args];
    const out = await new Deno.Command(cmd, { args: a, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`pg_ctl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  };
  let frozen: number[] = [];
  return {
    stop: () => pgctl(["stop", "-D", data, "-m", "fast", "-w", "-s"]),
    start: () =>
      pgctl([
        "start",
        "-D",
        data,
        "-w",
        "-t",
        "30",
        "-s",
        "-l",
        `${cluster.dir}/log`,
        "-o",
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${cluster.dir} -c fsync=off ` +
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
      ]),
    async freeze() {
      const postmaster = Number((await Deno.readTextFile(`${data}/postmaster.pid`)).split("\n")[0]);
      const out = await new Deno.Command("ps", {
        args: ["--ppid", String(postmaster), "-o", "pid="],
        stdout: "piped",
      })
        .output();
      const children = new TextDecoder().decode(out.stdout).split("\n").map((s) => Number(s.trim()))
        .filter((n) => n > 0);
      frozen = [postmaster, ...children];
      for (const pid of frozen) Deno.kill(pid, "SIGSTOP");
    },
    thaw() {
      for (const pid of frozen) {
        try {
          Deno.kill(pid, "SIGCONT");
        } catch { /* gone */ }
      }
      frozen = [];
    },
  };
}
