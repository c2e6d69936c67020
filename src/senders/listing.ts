/** Senders a page at a time, by keyset (sender_id), with filters: the console's list (and any paged listing). */
import type { Deps } from "../deps.ts";
import { stmt } from "../db/statements.ts";
import { getSender, type Sender } from "./store.ts";

/** Filters and cursor of a page of senders. */
export interface SenderPageQuery {
  /** Part of the id or name (case-insensitive), at most 100 characters. */
  search?: string;
  /** "active", "disabled" or undefined (both). */
  state?: "active" | "disabled";
  /** The last sender id of the previous page. */
  after?: string;
  limit?: number;
}

/** One page of senders ordered by id, and the cursor of the next page (undefined on the last). */
export function pageSenders(deps: Deps, query: SenderPageQuery): { senders: Sender[]; next?: string } {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const search = query.search ? `%${query.search.slice(0, 100).replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
  const active = query.state === undefined ? null : query.state === "active" ? 1 : 0;
  // One statement for every filter combination: a NULL parameter switches its condition off.
  const ids = stmt(
    deps.db,
    `SELECT sender_id FROM senders
     WHERE sender_id > ?
       AND (? IS NULL OR sender_id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')
       AND (? IS NULL OR active = ?)
     ORDER BY sender_id LIMIT ?+0`,
  ).all(query.after ?? "", search, search, search, active, active, limit + 1) as { sender_id: string }[];
  const senders = ids.slice(0, limit).map((r) => getSender(deps, r.sender_id)!).filter(Boolean);
  return { senders, next: ids.length > limit ? senders[senders.length - 1].sender_id : undefined };
}
