/**
 * Instances compare their own clocks through the database: a lease one instance wrote (its clock plus
 * DCI_LEASE_SECONDS) is judged lapsed by another's clock, and so are due times and retry times. An instance whose
 * clock is off the others' by more than a lease may take work another still holds, or leave its own lapsed work
 * waiting. Each server checks its clock against the database's at start and warns past CLOCK_SKEW_WARN_MS.
 */
import type { PgPool } from "./pool.ts";
import { pgOne } from "./query.ts";
import type { Clock } from "../../clock.ts";

/** The difference past which a server warns at start (ms). */
export const CLOCK_SKEW_WARN_MS = 5_000;

/**
 * How far the database's clock is ahead of `clock` (ms; negative: behind), against the midpoint of one query's
 * round trip.
 */
export async function pgClockSkew(pool: PgPool, clock: Clock): Promise<number> {
  const before = clock.now();
  const row = await pgOne<{ ms: string | number }>(
    pool,
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms",
  );
  const after = clock.now();
  return Number(row!.ms) - (before + after) / 2;
}
