/**
 * A compact set of string keys by their 64-bit hashes (two 32-bit halves, open addressing): 8 bytes a slot, at most
 * three quarters full, so 24M keys take 256 MB where a `Set<string>` of them would take several GB (and ~300 ns a
 * key, most of it the table's random memory access). `add` may say a key was there when it never was (two keys of
 * one hash: about n² / 2⁶⁵ in all, one in a hundred thousand loads of 24M keys), never the other way round: a
 * caller takes "there" only as a reason to look the key up where it is stored.
 */
export class KeyHashSet {
  #slots = new Uint32Array(2 << 16);
  #size = 0;

  /** How many distinct hashes it holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds the key `a` + NUL + `b`; false when a key of its hash was there already (it was added before, or, with a
   * chance of about n in 2⁶⁴, another key has its hash).
   */
  add(a: string, b: string): boolean {
    hash(a, b);
    const at = this.#find(this.#slots, HI, LO);
    if (this.#slots[at] !== 0 || this.#slots[at + 1] !== 0) return false;
    this.#slots[at] = HI;
    this.#slots[at + 1] = LO;
    if (++this.#size * 4 > (this.#slots.length / 2) * 3) this.#grow();
    return true;
  }

  /** The index of `hi:lo`'s slot in `slots`, or of the empty slot where it would go. */
  #find(slots: Uint32Array, hi: number, lo: number): number {
    const mask = slots.length - 2;
    let at = (lo << 1) & mask;
    while (slots[at] !== 0 || slots[at + 1] !== 0) {
      if (slots[at] === hi && slots[at + 1] === lo) return at;
      at = (at + 2) & mask;
    }
    return at;
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === 0 && old[i + 1] === 0) continue;
      const at = this.#find(slots, old[i], old[i + 1]);
      slots[at] = old[i];
      slots[at + 1] = old[i + 1];
    }
    this.#slots = slots;
  }
}

/** The halves of the last `hash` (module state, not a tuple: no allocation a key). */
let HI = 0, LO = 0;

/**
 * Two 32-bit hashes of `a` + NUL + `b` into HI and LO (FNV-1a, and a multiply-xorshift hash of other constants,
 * each finished with murmur3's mix), never both 0 (0:0 marks an empty slot).
 */
function hash(a: string, b: string): void {
  let h1 = 0x811c9dc5 | 0, h2 = 0x9747b28c | 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  // The NUL between the two.
  h1 = Math.imul(h1, 0x01000193);
  h2 = Math.imul(h2, 0x5bd1e995);
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  HI = mix(h1) >>> 0;
  LO = mix(h2 ^ b.length) >>> 0;
  if (HI === 0 && LO === 0) LO = 1;
}

function mix(h: number): number {
  h = Math.imul(h ^ h >>> 16, 0x85ebca6b);
  h = Math.imul(h ^ h >>> 13, 0xc2b2ae35);
  return h ^ h >>> 16;
}
