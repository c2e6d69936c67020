/** Senders a page at a time, by keyset (sender_id), with filters: the console's list (and any paged listing). */
import type { Deps } from "../deps.ts";
import { type Sender, toSender } from "./store.ts";

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
export async function pageSenders(
  deps: Deps,
  query: SenderPageQuery,
): Promise<{ senders: Sender[]; next?: string }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const pattern = query.search ? `%${query.search.slice(0, 100).replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
  const active = query.state === undefined ? null : query.state === "active" ? 1 : 0;
  const rows = await deps.storage.senders.page({
    pattern,
    active,
    after: query.after ?? "",
    limit: limit + 1,
  });
  const senders = rows.slice(0, limit).map((r) => toSender(deps, r));
  return { senders, next: rows.length > limit ? senders[senders.length - 1].sender_id : undefined };
}
