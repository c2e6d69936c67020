/**
 * The replay guard: a message_ts within the tolerance, and (sender_id, message_id) accepted once per window. The
 * message_ts check is here; the record lives in the storage (src/auth/replay_store.ts), in the same write as the
 * request's rate-limit count (src/auth/admission.ts).
 */
import type { Deps } from "../deps.ts";
import type { Db } from "../db/sqlite.ts";
import { DciRejection } from "../dci/errors.ts";
import { stmt } from "../db/statements.ts";
import { deleteInChunks } from "../db/purge.ts";

/** Refuses a message_ts outside ± the replay window (a missing one is left to the schema). */
export function checkMessageTs(deps: Deps, messageTs: unknown, nowMs: number): void {
  const windowMs = deps.config.replayWindowSeconds * 1000;
  const ts = typeof messageTs === "string" ? Date.parse(messageTs) : NaN;
  if (typeof messageTs === "string" && (Number.isNaN(ts) || Math.abs(nowMs - ts) > windowMs)) {
    throw new DciRejection(
      "rjct.message_ts.invalid",
      `message_ts "${
        messageTs.slice(0, 40)
      }" is not within ${deps.config.replayWindowSeconds} s of the server time`,
    );
  }
}

/** The rejection of a message_id already received from its sender within the window. */
export function duplicateMessageId(senderId: string, messageId: string): DciRejection {
  return new DciRejection(
    "rjct.message_id.duplicate",
    `message_id "${messageId}" was already received from sender "${senderId}"`,
  );
}

/**
 * What admitted a message id. "sync": its answer is stored nowhere, so every copy within the window is a duplicate,
 * on any route (the envelope's signature does not cover the path). "async": a copy may be admitted again while no
 * transaction is stored under it (src/auth/admission.ts). "write": a sync request that writes records (IBR
 * `sync/enrollment/updates`, whose writes are safe to repeat): a copy of it is admitted again until its answer has
 * been given (`settleReplay` then records it as "sync"), so a request answered 503 part-way, or cut short by a
 * crash, is applied in full by the sender's retry. Rows recorded before migration 0035 read as "sync".
 */
export type ReplayKind = "sync" | "async" | "write";

/**
 * Deletes a chunk (the second ?) of the replay records seen before the first ?, run by deleteInChunks: a minute of
 * admitted requests is up to a few hundred thousand rows, which one statement would delete holding the write lock
 * and the worker's isolate. SQLite's log by its seq; PostgreSQL's keyed table by its key (PURGE_REPLAY_PG).
 */
export const PURGE_REPLAY =
  "DELETE FROM replay_guard WHERE seq IN (SELECT seq FROM replay_guard WHERE seen_at_ms < ? LIMIT ?+0)";

/**
 * PURGE_REPLAY on PostgreSQL, whose replay_guard is keyed by (sender_id, message_id) (no seq): the time is checked
 * again on the row deleted, as another instance may have taken an expired message id over (a new seen_at_ms)
 * since the subquery read it. Its parameters: the time twice, then the chunk.
 */
export const PURGE_REPLAY_PG =
  "DELETE FROM replay_guard WHERE seen_at_ms < ? AND (sender_id, message_id) IN " +
  "(SELECT sender_id, message_id FROM replay_guard WHERE seen_at_ms < ? LIMIT ?+0)";

/** Most replay records one purge chunk deletes (each is a small row and one index entry). */
export const REPLAY_PURGE_CHUNK = 5000;

/**
 * When a message id is recorded: now, within the window; the time its record counts from, when later than
 * now (it is kept until a window after that); and the kind of request that records it (default "sync": its copies
 * are always duplicates).
 */
export interface ReplayAt {
  nowMs: number;
  windowMs: number;
  seenAtMs?: number;
  kind?: ReplayKind;
}

/*
 * SQLite (migration 0037): `replay_guard` is a log appended in `seq` order (a row changes only when a "write" request
 * is settled: its kind, in place), and each connection indexes the window's rows in memory: a 30-bit hash of
 * (sender_id, message_id) → the seq of each row with that hash. The index only narrows the search: a candidate counts
 * when its row holds the same ids and is still within the window, so a hash collision costs one row read and a row the
 * index still lists after a rollback or a purge matches nothing. Rows are indexed by generation (their seen_at_ms over
 * the window's length), and a generation is dropped once all of it is older than the window: the index holds one to
 * four windows' rows, 30–50 bytes each. Keyed by (sender_id, message_id) as before, the table took each admitted
 * request's insert into a random page, which the WAL and then the checkpoint wrote again: ~28 µs an admission in
 * batches of 31 with a few seconds of records and ~44 µs with 300,000 (node:sqlite, this machine), against ~8–10 µs
 * appended.
 *
 * A connection loads the window's rows before its first admission (`replayReady`), in chunks with the event
 * loop free between them (~1 µs a row: 0.45 s for 424,000 rows, 1.9 s for 1.8 million). Other connections
 * (HTTP isolates, other processes on the data dir) append too: every admission write holds the write lock, so
 * before its first record it reads the rows after the last seq this connection saw (all of them committed);
 * that seq moves on only once the write has committed (`committed`), so rows of a rolled-back write, whose
 * seqs another connection then takes, are read again. A connection that has not admitted for a second (an
 * isolate left idle while others admitted) first reads the rows appended since outside any write, in chunks
 * like the load, so no write holds the lock while it reads many. On PostgreSQL, dci_admit keeps a table keyed
 * by (sender_id, message_id) instead.
 */

const APPEND_MESSAGE_ID =
  "INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind) VALUES (?, ?, ?, ?)";
const REPLAY_ROW = "SELECT sender_id, message_id, seen_at_ms, kind FROM replay_guard WHERE seq = ?";
/** Rows after seq ?, seen at ? or later, in seq order, at most ? (-1: all; `+` keeps SQLite on the seq order). */
const ROWS_AFTER = `SELECT seq, sender_id, message_id, seen_at_ms FROM replay_guard
  WHERE seq > ? AND +seen_at_ms >= ? ORDER BY seq LIMIT ?+0`;
/**
 * The latest seen_at and the newest seq, in one snapshot (each one index lookup): when even the latest row is
 * older than the window, a load has nothing to read and goes on from the newest seq. After a long stop every row
 * is, until the purge removes them; reading them in seq order would scan them all, and go on doing so at every
 * catch-up until this connection's first write.
 */
const LOG_BOUNDS = `SELECT (SELECT MAX(seen_at_ms) FROM replay_guard) AS latest,
  (SELECT MAX(seq) FROM replay_guard) AS newest`;
/** Rows read per step of a load. */
const LOAD_CHUNK = 10_000;
/** How long a connection that has not admitted may go before its next admission reads the log first, in ms. */
const CATCH_UP_MS = 1000;

/** A 30-bit hash of a sender and message id (a Map key V8 keeps unboxed). */
export type ReplayHash = (senderId: string, messageId: string) => number;

interface ReplayIndex {
  hash: ReplayHash;
  /** Generation (floor(seen_at_ms / genMs)) → hash → the seq, or seqs, of its rows with that hash. */
  gens: Map<number, Map<number, number | number[]>>;
  /** A generation's length: the window's, set by the load. */
  genMs: number;
  /** The last seq read (committed); undefined until the window's rows are loaded. */
  lastSeq?: number;
  /** When the index last read the rows appended (a load, a catch-up, or a committed admission write). */
  caughtUpAt: number;
  /** The load or catch-up, while it runs. */
  loading?: Promise<void>;
}

const indexes = new WeakMap<Db, ReplayIndex>();

/**
 * FNV-1a over both ids with a newline between, from a random basis per connection (so no sender can aim its ids
 * at one hash and make each lookup read many rows), then murmur3's finalizer; the top 30 bits.
 */
function seededHash(): ReplayHash {
  const basis = crypto.getRandomValues(new Uint32Array(1))[0];
  const feed = (h: number, s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h;
  };
  return (senderId, messageId) => {
    let h = feed(Math.imul(feed(basis, senderId) ^ 10, 0x01000193), messageId);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 2;
  };
}

function indexOf(db: Db): ReplayIndex {
  let index = indexes.get(db);
  if (!index) indexes.set(db, index = { hash: seededHash(), gens: new Map(), genMs: 0, caughtUpAt: 0 });
  return index;
}

/** Tests: `db`'s index hashes with `hash` from now on (a constant one makes every message id a candidate). */
export function useReplayHash(db: Db, hash: ReplayHash): void {
  indexOf(db).hash = hash;
}

function indexRow(index: ReplayIndex, h: number, seq: number, seenAtMs: number): void {
  const g = Math.floor(seenAtMs / index.genMs);
  let gen = index.gens.get(g);
  if (!gen) index.gens.set(g, gen = new Map());
  const seqs = gen.get(h);
  if (seqs === undefined) gen.set(h, seq);
  else if (typeof seqs === "number") {
    if (seqs !== seq) gen.set(h, [seqs, seq]);
  } else if (!seqs.includes(seq)) seqs.push(seq);
}

/** The seqs the index lists under hash `h`, in every generation: candidates, each to be checked against its row. */
function* candidates(index: ReplayIndex, h: number): Generator<number> {
  for (const gen of index.gens.values()) {
    const seqs = gen.get(h);
    if (seqs === undefined) continue;
    if (typeof seqs === "number") yield seqs;
    else yield* seqs;
  }
}

/** Drops the generations wholly older than the window at `nowMs`: their rows can no longer match. */
function dropExpired(index: ReplayIndex, nowMs: number, windowMs: number): void {
  for (const g of index.gens.keys()) {
    if ((g + 1) * index.genMs <= nowMs - windowMs) index.gens.delete(g);
  }
}

/** Tests: what `db`'s index holds (rows, generations) and the last seq it has read. */
export function replayIndexStats(db: Db): { rows: number; generations: number; lastSeq?: number } {
  const index = indexOf(db);
  let rows = 0;
  for (const gen of index.gens.values()) {
    for (const seqs of gen.values()) rows += typeof seqs === "number" ? 1 : seqs.length;
  }
  return { rows, generations: index.gens.size, lastSeq: index.lastSeq };
}

/**
 * Indexes up to `limit` rows (-1: all) after seq `after` seen at `fromMs` or later; the last seq read (`after` if
 * none) and how many.
 */
function readRows(
  db: Db,
  index: ReplayIndex,
  after: number,
  fromMs: number,
  limit: number,
): [number, number] {
  const s = stmt(db, ROWS_AFTER);
  s.setReturnArrays(true);
  const rows = s.all(after, fromMs, limit) as unknown as Array<[number, string, string, number]>;
  for (const [seq, senderId, messageId, seenAtMs] of rows) {
    indexRow(index, index.hash(senderId, messageId), Number(seq), Number(seenAtMs));
  }
  return [rows.length === 0 ? after : Number(rows[rows.length - 1][0]), rows.length];
}

/**
 * Undefined when `db`'s index is ready for an admission write; otherwise the read that readies it, which an
 * admission awaits: the load of the window's rows (started by the first call), or, when this connection has not
 * read the log for CATCH_UP_MS (an isolate that was idle while others admitted), the rows appended since. Both
 * read LOAD_CHUNK rows at a time and yield between chunks, outside any write, so neither this isolate's event loop
 * nor the write lock is held for long; the write itself then reads only the rows of the last moments.
 */
export function replayReady(db: Db, nowMs: number, windowMs: number): Promise<void> | undefined {
  const index = indexOf(db);
  const ready = () => index.lastSeq !== undefined && nowMs - index.caughtUpAt < CATCH_UP_MS;
  if (ready()) return undefined;
  if (!index.loading) {
    const load = readLog(db, index, nowMs, windowMs);
    // A read of one chunk or less has finished already: the caller goes on in this turn, in its order.
    if (ready()) return undefined;
    // A failed read is tried again by the next admission.
    index.loading = load.finally(() => index.loading = undefined);
  }
  return index.loading;
}

/**
 * Indexes the committed rows after the last seq read (all of the window's, the first time). Outside a write: a
 * committed seq means every lower one is committed or gone, as seqs are handed out under the write lock.
 */
async function readLog(db: Db, index: ReplayIndex, nowMs: number, windowMs: number): Promise<void> {
  if (index.genMs === 0) index.genMs = windowMs;
  // A connection that only catches up (its admissions are all refused before they record) drops old rows too.
  dropExpired(index, nowMs, windowMs);
  let last = index.lastSeq ?? 0;
  if (index.lastSeq === undefined) {
    const bounds = stmt(db, LOG_BOUNDS).get() as { latest: number | null; newest: number | null };
    // Nothing in the window: read only what is appended after the newest seq.
    if (bounds.latest === null || Number(bounds.latest) < nowMs - windowMs) last = Number(bounds.newest ?? 0);
  }
  for (;;) {
    const [seq, read] = readRows(db, index, last, nowMs - windowMs, LOAD_CHUNK);
    last = seq;
    if (read < LOAD_CHUNK) break;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  index.lastSeq = Math.max(index.lastSeq ?? 0, last);
  index.caughtUpAt = Math.max(index.caughtUpAt, nowMs);
}

/** The replay guard's part of one admission write (SQLite): records message ids, then learns the commit. */
export interface ReplayWrite {
  /**
   * Records (sender, message_id); undefined when recorded, or, when it was already recorded within the window (a
   * replay), the kind of the request that recorded it.
   */
  record(senderId: string, messageId: string, at: ReplayAt): ReplayKind | undefined;
  /** The write committed: the rows it read and appended are this connection's from now on. */
  committed(): void;
}

/**
 * The replay guard's part of an admission write on `db`, run inside the write's transaction once `replayReady`
 * has loaded the index.
 */
export function replayWrite(db: Db): ReplayWrite {
  const index = indexOf(db);
  let last: number | undefined;
  let nowMs = 0;
  /**
   * Drops the generations past the window and reads the rows other connections appended since the last seq (a
   * few: replayReady has read them outside the write when this connection sat idle).
   */
  const catchUp = (at: ReplayAt): number => {
    if (index.lastSeq === undefined) throw new Error("the replay guard's index is not loaded");
    nowMs = at.nowMs;
    dropExpired(index, at.nowMs, at.windowMs);
    return readRows(db, index, index.lastSeq, at.nowMs - at.windowMs, -1)[0];
  };
  return {
    record(senderId, messageId, at) {
      last ??= catchUp(at);
      const h = index.hash(senderId, messageId);
      for (const seq of candidates(index, h)) {
        const row = stmt(db, REPLAY_ROW).get(seq) as
          | { sender_id: string; message_id: string; seen_at_ms: number; kind: string }
          | undefined;
        if (
          row?.sender_id === senderId && row.message_id === messageId &&
          Number(row.seen_at_ms) >= at.nowMs - at.windowMs
        ) return replayKind(row.kind);
      }
      const seenAtMs = Math.max(at.nowMs, at.seenAtMs ?? 0);
      const seq = Number(
        stmt(db, APPEND_MESSAGE_ID).run(senderId, messageId, seenAtMs, at.kind ?? "sync").lastInsertRowid,
      );
      indexRow(index, h, seq, seenAtMs);
      last = Math.max(last, seq);
      return undefined;
    },
    committed() {
      if (last === undefined) return;
      index.lastSeq = Math.max(index.lastSeq!, last);
      index.caughtUpAt = Math.max(index.caughtUpAt, nowMs);
    },
  };
}

/** A stored kind as a ReplayKind: anything but "async" or "write" (a missing row too) reads as the stricter "sync". */
export function replayKind(stored: unknown): ReplayKind {
  return stored === "async" || stored === "write" ? stored : "sync";
}

/** Settles an answered "write" request's message id to "sync": its copies are duplicates from now on. Both backends. */
export const SETTLE_MESSAGE_ID =
  "UPDATE replay_guard SET kind = 'sync' WHERE sender_id = ? AND message_id = ? AND kind = 'write'";
const SETTLE_ROW = `${SETTLE_MESSAGE_ID} AND seq = ?`;

/**
 * Records the "write" request with this message id as answered (SQLite, inside a write): its row is one of the
 * index's candidates, as the connection that admitted the request (or found it recorded, admitting a copy) has
 * indexed it.
 */
export function settleReplay(db: Db, senderId: string, messageId: string): void {
  const index = indexOf(db);
  for (const seq of candidates(index, index.hash(senderId, messageId))) {
    stmt(db, SETTLE_ROW).run(senderId, messageId, seq);
  }
}

/** Deletes replay records seen before `beforeMs`, in chunks; returns how many. */
export function purgeReplay(db: Db, beforeMs: number): Promise<number> {
  return deleteInChunks(db, PURGE_REPLAY, [beforeMs], REPLAY_PURGE_CHUNK);
}
