/**
 * One measured run of bench/load.ts: signed sync search against running servers (one, or several instances of
 * one server on a shared database), the server processes' CPU summed, and optionally more CPU meters (the
 * database's) read around the same run.
 */
import type { TestSender } from "../tests/helpers/auth.ts";
import {
  cpuMs,
  generatorThreads,
  type LoadResult,
  runLoad,
  searchBody,
  type Served,
  writeBodies,
} from "./_lib.ts";

/** Throws unless `server` answers one signed search for `uin` with one record and a signed response. */
export async function checkOne(server: Served, sender: TestSender, uin: string): Promise<void> {
  const res = await fetch(`${server.url}/registry/sync/search`, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: searchBody(sender, uin, -1, Date.now()),
  });
  const body = await res.json();
  const item = body?.message?.search_response?.[0];
  if (res.status !== 200 || typeof body.signature !== "string" || item?.data?.reg_records?.length !== 1) {
    throw new Error(`real server answered ${res.status}: ${JSON.stringify(body).slice(0, 400)}`);
  }
}

/** What a run measured, with each extra meter's CPU per answered request (ms). */
export type MeasuredRun = LoadResult & { perRequest: Record<string, number> };

/**
 * Loads `servers` (connections spread over them round-robin) with fresh pre-signed bodies for about
 * `expectRps` × seconds requests; `cpuMsPerRequest` sums the server processes, `meters` are read around the run.
 */
export async function measureServers(
  servers: Served[],
  sender: TestSender,
  uins: string[],
  opts: {
    expectRps: number;
    seconds: number;
    connections: number;
    prefix: string;
    meters?: Record<string, () => number>;
  },
): Promise<MeasuredRun> {
  for (const server of servers) await checkOne(server, sender, uins[0]);
  // Every request needs a fresh message_id: enough pre-signed bodies for the whole run and then some.
  const count = Math.ceil(opts.expectRps * opts.seconds * 1.3) + 2000;
  await writeBodies(sender, uins, count, opts.prefix, generatorThreads(servers.length));
  const meters = Object.entries(opts.meters ?? {});
  const serversCpu = () => servers.reduce((sum, s) => sum + cpuMs(s.pid), 0);
  const cpuBefore = serversCpu();
  const metersBefore = meters.map(([, read]) => read());
  const result = await runLoad({
    url: servers.map((s) => s.url),
    authorization: `Bearer ${sender.token}`,
    prefix: opts.prefix,
    connections: opts.connections,
    seconds: opts.seconds,
  });
  const perRequest = Object.fromEntries(
    meters.map(([name, read], i) => [name, (read() - metersBefore[i]) / result.requests]),
  );
  return { ...result, cpuMsPerRequest: (serversCpu() - cpuBefore) / result.requests, perRequest };
}
