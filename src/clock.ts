/** Time as a dependency, so tests can move it. */

/** A source of the current time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests set and advance by hand. */
export function fakeClock(start = Date.parse("2026-01-01T00:00:00Z")): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** ISO 8601 UTC timestamp of the clock's current time. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
