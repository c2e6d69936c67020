// bench/_profile_top.ts --from/--to: a profile cut to a window counts only that window's samples, and its
// per-unit figures spread only the window's time.
import assert from "node:assert/strict";
import { type CpuProfile, profileTop, profileWindow } from "../../bench/_profile_top.ts";

/** root → work, and idle; a sample every 1 ms: 3 s of idle, 2 s of work, 3 s of idle. */
function profile(): CpuProfile {
  const frame = (functionName: string) => ({ functionName, url: "", lineNumber: 0 });
  const samples = [...Array(3000).fill(3), ...Array(2000).fill(2), ...Array(3000).fill(3)];
  return {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 3] },
      { id: 2, callFrame: frame("work"), hitCount: 2000 },
      { id: 3, callFrame: frame("(idle)"), hitCount: 6000 },
    ],
    startTime: 1_000_000,
    endTime: 1_000_000 + 8_000_000,
    samples,
    timeDeltas: samples.map(() => 1000),
  };
}

Deno.test("profile window: only the window's samples, and its duration for --per", () => {
  const whole = profileTop(profile(), 2, 1_000_000);
  // The whole profile spreads 8 s over a million units: the idle 6 µs a unit, the work 2.
  assert.deepEqual(whole.self.map((l) => l.trim()), ["6.0 µs  (idle) :1", "2.0 µs  work :1"]);
  const cut = profileWindow(profile(), 3, 5);
  assert.equal(cut.endTime! - cut.startTime!, 2_000_000);
  const hits = Object.fromEntries(cut.nodes.map((n) => [n.callFrame.functionName, n.hitCount]));
  // Sample k ends at k+1 ms: the window [3 s, 5 s) holds samples 2,999…4,998: one idle, 1,999 work.
  assert.deepEqual(hits, { "(root)": 0, work: 1999, "(idle)": 1 });
  const inWindow = profileTop(cut, 2, 1_000_000);
  assert.deepEqual(inWindow.self.map((l) => l.trim()), ["2.0 µs  work :1", "0.0 µs  (idle) :1"]);
});

Deno.test("profile window: a window past the end stops at the profile's end", () => {
  const cut = profileWindow(profile(), 7, 100);
  assert.equal(cut.endTime, 9_000_000);
  assert.equal(cut.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0), 1000);
});
