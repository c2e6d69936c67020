/**
 * CPU of a PostgreSQL cluster on this machine, from /proc: the postmaster is the process whose command line
 * holds the cluster's data dir or `-p PORT`; the cluster's CPU is its own utime+stime, that of its exited children
 * (cutime+cstime) and that of every living child (backends, walwriter, checkpointer, autovacuum). A backend's
 * command line is its title, `postgres: USER DATABASE HOST(PORT) STATE`, which names one database's backends.
 */

/** Fields of /proc/PID/stat after the command name (field 3 is index 0), or undefined when the process is gone. */
function statFields(pid: string): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function cmdline(pid: string): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

const TICK_MS = 10; // USER_HZ 100
const PPID = 1, UTIME = 11, STIME = 12, CUTIME = 13, CSTIME = 14;

function pids(): string[] {
  return [...Deno.readDirSync("/proc")].map((e) => e.name).filter((n) => /^\d+$/.test(n));
}

/** The postmaster's pid of the cluster with `dataDir` (when known) or `port`, or undefined if not on this machine. */
export function findPostmaster(port: string, dataDir?: string): string | undefined {
  const matches = pids().filter((pid) => {
    const line = cmdline(pid);
    return (dataDir !== undefined && line.includes(` ${dataDir} `)) ||
      new RegExp(`(-p |--port=|port=)${port}( |$)`).test(line);
  });
  // The postmaster among them: the one whose parent is not itself a match.
  return matches.find((pid) => !matches.includes(statFields(pid)?.[PPID] ?? ""));
}

/**
 * Meters (ms of CPU so far) of the cluster of `postmaster`: the whole cluster, and the backends of `database` only
 * (a shared cluster serves other databases too; a backend that exits takes its CPU out of the second meter).
 */
export function clusterMeters(postmaster: string, database: string): Record<string, () => number> {
  const own = (f: string[] | undefined, cumulative: boolean) =>
    f ? (Number(f[UTIME]) + Number(f[STIME]) + (cumulative ? Number(f[CUTIME]) + Number(f[CSTIME]) : 0)) : 0;
  const children = () =>
    pids().map((pid) => ({ pid, f: statFields(pid) })).filter(({ f }) => f?.[PPID] === postmaster);
  return {
    cluster: () => {
      let ticks = own(statFields(postmaster), true);
      for (const { f } of children()) ticks += own(f, false);
      return ticks * TICK_MS;
    },
    database: () => {
      let ticks = 0;
      for (const { pid, f } of children()) {
        const title = cmdline(pid).split(" ");
        if (title[0] === "postgres:" && title[2] === database) ticks += own(f, false);
      }
      return ticks * TICK_MS;
    },
  };
}
