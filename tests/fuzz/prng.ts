/** A tiny seeded PRNG (mulberry32) and the random-value helpers the fuzz generators share. */

/** A deterministic random source: the same seed gives the same sequence. */
export class Rng {
  #s: number;

  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a list. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  /** Picks a key of a weight table in proportion to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let x = this.next() * entries.reduce((a, [, w]) => a + w, 0);
    for (const [k, w] of entries) if ((x -= w) < 0) return k;
    return entries[entries.length - 1][0];
  }
}

/** Strings that try to escape into SQL, paths, templates, prototypes or break decoders. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "' OR 1=1 --",
  '"; DROP TABLE registrants; --',
  "1) UNION SELECT client_secret_hash FROM clients --",
  "x' AND (SELECT 1 FROM sqlite_master)='1",
  "%",
  "_",
  "\\",
  "\u0000",
  "a\u0000b",
  "$where",
  "$regex",
  "__proto__",
  "constructor",
  "prototype",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "{{7*7}}",
  "${jndi:ldap://127.0.0.1/x}",
  "\ud800",
  "\udfff\ud800",
  "𝕏𝕐ℤ",
  "عربى",
  "名前",
  "\u202e\u0041",
  "\ufeff",
  "\r\n\r\nX-Injected: 1",
  "NaN",
  "Infinity",
  "-0",
  "null",
  "true",
  "9".repeat(400),
  "a".repeat(5000),
  "urn:dci:id:uin",
  "UIN",
  "birth_date",
  "given_name",
  "2026-02-30T25:61:61Z",
];

/** Numbers at the edges. */
export const NASTY_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1,
  0.5,
  -1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
];

/** A random JSON value (depth-limited): primitives at the edges, arrays, objects. */
export function junk(r: Rng, depth = 2): unknown {
  const k = r.int(depth > 0 ? 10 : 7);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
    case 3:
      return r.pick(NASTY_NUMBERS);
    case 4:
    case 5:
    case 6:
      return r.pick(NASTY_STRINGS);
    case 7:
    case 8:
      return Array.from({ length: r.int(4) }, () => junk(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(4); i > 0; i--) {
        const key = r.pick(NASTY_STRINGS).slice(0, 40) || "k";
        Object.defineProperty(o, key, {
          value: junk(r, depth - 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    }
  }
}

/** A value nested `depth` levels deep as arrays or objects. */
export function deepNest(r: Rng, depth: number): unknown {
  const arrays = r.chance(0.5);
  let v: unknown = r.pick(["leaf", 1, null]);
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { [r.chance(0.5) ? "$and" : "a"]: v };
  return v;
}

/** Deep nesting as raw JSON text (for depths JSON.stringify cannot build without recursion). */
export function deepNestText(depth: number, open = "[", close = "]"): string {
  return open.repeat(depth) + "1" + close.repeat(depth);
}
