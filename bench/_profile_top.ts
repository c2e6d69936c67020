/**
 * Summarises a V8 .cpuprofile (from `deno run --cpu-prof`): the functions with the most self time and the
 * most inclusive time, as shares of all samples.  `deno run -A bench/_profile_top.ts FILE [N]`
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self and inclusive sample shares per function of a profile. */
export function profileTop(profile: { nodes: Node[] }, n = 30): { self: string[]; inclusive: string[] } {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const name = (x: Node) => {
    const url = x.callFrame.url.replace(/^.*\/(work\/main|node_modules|deno|npm)\//, "").slice(-60);
    return `${x.callFrame.functionName || "(anon)"} ${url}:${x.callFrame.lineNumber + 1}`;
  };
  const total = profile.nodes.reduce((a, x) => a + (x.hitCount ?? 0), 0);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const walk = (id: number, stack: Set<string>): number => {
    const x = byId.get(id)!;
    const key = name(x);
    self.set(key, (self.get(key) ?? 0) + (x.hitCount ?? 0));
    const inner = new Set(stack).add(key);
    let sum = x.hitCount ?? 0;
    for (const c of x.children ?? []) sum += walk(c, inner);
    if (!stack.has(key)) incl.set(key, (incl.get(key) ?? 0) + sum);
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  const top = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) =>
      `${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`
    );
  return { self: top(self), inclusive: top(incl) };
}

if (import.meta.main) {
  const prof = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const { self, inclusive } = profileTop(prof, Number(Deno.args[1] ?? 30));
  console.log("self time:\n" + self.join("\n") + "\n\ninclusive time:\n" + inclusive.join("\n"));
}
