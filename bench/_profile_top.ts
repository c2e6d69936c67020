/**
 * Summarises a V8 .cpuprofile (from `deno run --cpu-prof`): the functions with the most self time and the
 * most inclusive time, as shares of all samples.
 *
 *   deno run -A bench/_profile_top.ts FILE [N]                 # top N (default 30), shares of all samples
 *   deno run -A bench/_profile_top.ts FILE [N] --per COUNT     # the same in µs per unit (COUNT requests,
 *                                                              # transactions…), from the profile's own clock
 *   deno run -A bench/_profile_top.ts FILE --callers NAME [D]  # who calls function NAME (D frames up, default 3)
 *   deno run -A bench/_profile_top.ts FILE --timeline MS       # per MS window: busy share and the top five
 *                                                              # functions by self time
 *   … --from S --to S                                          # any view of the samples from S to S seconds
 *                                                              # into the profile only (the load's window)
 *
 * The timeline shows what a run does when (an isolate idle while another works, one phase after another); the
 * callers view splits a native function (`get`, `all`, `exec` of node:sqlite) by the statement's caller.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** What `--cpu-prof` writes: the call tree, and each sample's node with the time since the one before (µs). */
export interface CpuProfile {
  nodes: Node[];
  startTime?: number;
  endTime?: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A profile's nodes by id, its sample count, and a count of samples as a share of them (`12.3%`). */
function indexed(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const total = profile.nodes.reduce((a, x) => a + (x.hitCount ?? 0), 0);
  const share = (v: number) => `${(100 * v / total).toFixed(1).padStart(5)}%`;
  return { byId, total, share };
}

function frameName(x: Node): string {
  const url = x.callFrame.url.replace(/^.*\/(work\/main|node_modules|deno|npm)\//, "").slice(-60);
  return `${x.callFrame.functionName || "(anon)"} ${url}:${x.callFrame.lineNumber + 1}`;
}

/**
 * Self and inclusive time per function of a profile: as shares of all samples, or (`per`) in µs per unit of
 * work, the profile's duration spread over its samples.
 */
export function profileTop(
  profile: CpuProfile,
  n = 30,
  per?: number,
): { self: string[]; inclusive: string[] } {
  const { byId, total, share } = indexed(profile);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const walk = (id: number, stack: Set<string>): number => {
    const x = byId.get(id)!;
    const key = frameName(x);
    self.set(key, (self.get(key) ?? 0) + (x.hitCount ?? 0));
    const inner = new Set(stack).add(key);
    let sum = x.hitCount ?? 0;
    for (const c of x.children ?? []) sum += walk(c, inner);
    if (!stack.has(key)) incl.set(key, (incl.get(key) ?? 0) + sum);
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  if (per !== undefined && (profile.endTime === undefined || profile.startTime === undefined)) {
    throw new Error("the profile has no start and end times: --per needs them");
  }
  // µs of one sample's share of one unit: the profile's duration spread over its samples and the units.
  const sampleUs = per === undefined ? undefined : (profile.endTime! - profile.startTime!) / total / per;
  const figure = (v: number) =>
    sampleUs === undefined ? share(v) : `${(v * sampleUs).toFixed(sampleUs * v < 10 ? 1 : 0).padStart(6)} µs`;
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${figure(v)}  ${k}`);
  return { self: top(self), inclusive: top(incl) };
}

/** The callers of function `name` (its self time), by the chain of `depth` frames above it, as shares of all samples. */
export function profileCallers(profile: CpuProfile, name: string, depth = 3): string[] {
  const { byId, share } = indexed(profile);
  const parent = new Map<number, number>();
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const chains = new Map<string, number>();
  for (const x of profile.nodes) {
    if (x.callFrame.functionName !== name || !x.hitCount) continue;
    const chain: string[] = [];
    for (let id = parent.get(x.id); id !== undefined && chain.length < depth; id = parent.get(id)) {
      chain.push(frameName(byId.get(id)!));
    }
    const key = chain.join(" < ") || "(top)";
    chains.set(key, (chains.get(key) ?? 0) + x.hitCount);
  }
  return [...chains].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${share(v)}  ${k}`);
}

/** Calls `fn` with each sample's node id and its time (µs, the profile's clock), and the profile's start. */
function forEachSample(profile: CpuProfile, fn: (id: number, t: number, start: number) => void): void {
  const { samples, timeDeltas, startTime } = profile;
  if (!samples || !timeDeltas || startTime === undefined) {
    throw new Error("the profile has no samples or time deltas");
  }
  let t = startTime;
  samples.forEach((id, i) => fn(id, t += timeDeltas[i], startTime));
}

/**
 * The profile cut to its samples from `fromS` to `toS` seconds after its start: a profile spans the process's
 * life, so a view of the whole counts the start-up and the idle time around a load run in with it (with `--per`,
 * idle time outside the run spread over the run's requests).
 */
export function profileWindow(profile: CpuProfile, fromS: number, toS: number): CpuProfile {
  // A profile without a start time is refused by forEachSample.
  const from = (profile.startTime ?? 0) + fromS * 1e6;
  const to = Math.min((profile.startTime ?? 0) + toS * 1e6, profile.endTime ?? Infinity);
  const hits = new Map<number, number>();
  forEachSample(profile, (id, t) => {
    if (t >= from && t < to) hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  const nodes = profile.nodes.map((x) => ({ ...x, hitCount: hits.get(x.id) ?? 0 }));
  return { nodes, startTime: from, endTime: to };
}

/** Per window of `windowMs` from the profile's start: how busy the thread was and its top five functions (self). */
export function profileTimeline(profile: CpuProfile, windowMs: number): string[] {
  const { byId } = indexed(profile);
  const windows = new Map<number, Map<string, number>>();
  forEachSample(profile, (id, t, start) => {
    const w = Math.floor((t - start) / (windowMs * 1000));
    if (!windows.has(w)) windows.set(w, new Map());
    const counts = windows.get(w)!;
    const key = frameName(byId.get(id)!);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return [...windows].sort((a, b) => a[0] - b[0]).map(([w, counts]) => {
    const n = [...counts.values()].reduce((a, v) => a + v, 0);
    const idle = [...counts].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
    const top = [...counts].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, v]) => `${k} ${Math.round(100 * v / n)}%`);
    const at = ((w * windowMs) / 1000).toFixed(2).padStart(7);
    return `${at} s  busy ${String(Math.round(100 * (n - idle) / n)).padStart(3)}%  ${top.join(", ")}`;
  });
}

if (import.meta.main) {
  const [file, ...rest] = Deno.args;
  let prof = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    if (i < 0) return undefined;
    const value = rest.splice(i, 2)[1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    return value;
  };
  const callers = flag("--callers");
  const timeline = flag("--timeline");
  const per = flag("--per");
  const from = flag("--from");
  const to = flag("--to");
  if (from !== undefined || to !== undefined) {
    if (timeline !== undefined) {
      throw new Error("--timeline shows the whole profile: no --from or --to with it");
    }
    prof = profileWindow(prof, Number(from ?? 0), Number(to ?? Infinity));
  }
  if (callers !== undefined) {
    console.log(profileCallers(prof, callers, Number(rest[0] ?? 3)).join("\n"));
  } else if (timeline !== undefined) {
    console.log(profileTimeline(prof, Number(timeline)).join("\n"));
  } else {
    const units = per === undefined ? undefined : Number(per);
    if (units !== undefined && !(units > 0)) throw new Error("--per needs a positive count");
    const { self, inclusive } = profileTop(prof, Number(rest[0] ?? 30), units);
    console.log("self time:\n" + self.join("\n") + "\n\ninclusive time:\n" + inclusive.join("\n"));
  }
}
