/**
 * The sent marks of one delivery lane, written in groups: a lane buffers the rows it has delivered and writes
 * them together (through the group commit, so lanes finishing in the same turn share one COMMIT), instead of
 * one write transaction per delivery. The lane moves on meanwhile (its next row is a later one) and settles
 * every mark before it releases its lease, so no later run picks up a row already sent. A crash before a
 * group commits re-sends its rows, in order: at least once, as always; receivers de-duplicate by notification
 * id, and the group size bounds the duplicates of one subscription.
 */
import type { Db } from "../db/sqlite.ts";
import type { Logger } from "../obs/log.ts";
import { groupCommit } from "../db/group_commit.ts";
import { markBatch } from "./batches.ts";
import type { NotificationRow } from "./notifications.ts";

/** Rows delivered together in one notify, and when. */
interface Mark {
  rows: NotificationRow[];
  at: string;
}

/** Most deliveries a group holds: the most a subscription may see again after a crash (plus one in flight). */
export const SENT_MARK_GROUP = 16;
/** The longest a delivered row waits in the buffer for its mark, checked as the next delivery is added (ms). */
const GROUP_AGE_MS = 100;

/** A lane's buffered sent marks (see the module comment). */
export class SentMarks {
  #buffer: Mark[] = [];
  #oldest = 0;
  #writing = new Set<Promise<void>>();
  /** Rows marked sent so far (committed). */
  sent = 0;

  constructor(private readonly deps: { db: Db; log: Logger }) {}

  /** Buffers the mark of a delivery; writes the group once it is full or its oldest mark has waited long. */
  add(rows: NotificationRow[], at: string): void {
    if (this.#buffer.length === 0) this.#oldest = performance.now();
    this.#buffer.push({ rows, at });
    if (this.#buffer.length >= SENT_MARK_GROUP || performance.now() - this.#oldest >= GROUP_AGE_MS) {
      this.flush();
    }
  }

  /** Writes the buffered marks now (committed by the turn's group commit); resolves once committed. */
  flush(): Promise<void> {
    const marks = this.#buffer;
    this.#buffer = [];
    if (marks.length === 0) return Promise.resolve();
    const db = this.deps.db;
    const write: Promise<void> = groupCommit(
      db,
      () => marks.reduce((n, m) => n + markBatch(db, m.rows, { kind: "sent" }, m.at), 0),
    ).then(
      (n) => void (this.sent += n),
      (err) => this.deps.log.error("notification sent marks failed; those will be sent again", { err }),
    ).finally(() => this.#writing.delete(write));
    this.#writing.add(write);
    return write;
  }

  /** Writes what is buffered and waits until every mark has committed (or failed and been logged). */
  async settle(): Promise<void> {
    void this.flush();
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }
}
