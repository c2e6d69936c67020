/**
 * The members a group record of a search answer lists. Nothing caps a household's members (an import may give one
 * 30,000), and an answer listed every live one, read and mapped outside the search budget (on SQLite in the isolate
 * that took the request): 0.5 to 1.2 s and 11.7 MB an answer for 30,000. An answer lists the first
 * MAX_LISTED_MEMBERS (by row id: registration order), the head among them; a group with more says so in its
 * `additional_attributes` (`member_list_truncated: true`, `member_list_total`: its live members), and its
 * `group_size`, when none was stored, is that count. Every statement here is bounded by the request's budget
 * (SQLite's row checks, PostgreSQL's statement_timeout) like the search's own.
 */
import { fromRow, MAX_LISTED_MEMBERS, type StoredRegistrant } from "./store.ts";

/** A member row with its data. */
export type MemberRow = { id: number; data: string; deleted_at: null };

/** A group's live members counted, and the row id of its first head (`null` when it has none). */
export type Census = { n: number | string; head: number | string | null };

/** What an answer lists of a group: its members, and how many it has when that is more. */
export interface ListedMembers {
  members: StoredRegistrant[];
  /** The group's live members, when `members` is not all of them. */
  total?: number;
}

/**
 * The first MAX_LISTED_MEMBERS + 1 live members of group `?` with their data (one past the list says that more
 * follow). `check`: SQLite's budget term and `AND` (budgetPrefix), or "".
 */
export function membersSql(check: string): string {
  return `SELECT m.id, d.data, m.deleted_at FROM (SELECT r.id, r.deleted_at FROM registrants r
    WHERE ${check}r.group_id = ? AND r.deleted_at IS NULL ORDER BY r.id LIMIT ${MAX_LISTED_MEMBERS + 1}) m
    JOIN registrant_data d ON d.id = m.id ORDER BY m.id`;
}

/** The Census of group `?` in one pass over its members (only for a group with more than a list). */
export function censusSql(check: string): string {
  return `SELECT COUNT(*) AS n, MIN(CASE WHEN r.relationship IN ('SELF', 'HEAD') THEN r.id END) AS head
    FROM registrants r WHERE ${check}r.group_id = ? AND r.deleted_at IS NULL`;
}

/** The row id of the head to read besides `rows` (a group's first members), or undefined when it is listed. */
export function missingHead(rows: MemberRow[], census: Census): number | undefined {
  if (census.head === null) return undefined;
  const head = Number(census.head);
  return rows.slice(0, MAX_LISTED_MEMBERS).some((r) => Number(r.id) === head) ? undefined : head;
}

/**
 * What an answer lists of a group whose first live members are `rows` (read by membersSql). With more than a list:
 * its census, and its head's row when the head is not among the first (it takes the last place).
 */
export function listedMembers(rows: MemberRow[], census?: Census, head?: MemberRow): ListedMembers {
  if (rows.length <= MAX_LISTED_MEMBERS || !census) return { members: rows.map(fromRow) };
  const members = rows.slice(0, MAX_LISTED_MEMBERS).map(fromRow);
  if (head) members[MAX_LISTED_MEMBERS - 1] = fromRow(head);
  return { members, total: Number(census.n) };
}

/** `group` as its record shows it with `listed`: a truncated list marked, its group_size the live count if unset. */
export function withListed(group: StoredRegistrant, listed: ListedMembers): StoredRegistrant {
  if (listed.total === undefined) return group;
  return {
    ...group,
    groupSize: group.groupSize ?? listed.total,
    attributes: { ...group.attributes, member_list_truncated: true, member_list_total: listed.total },
  };
}

/** The reads of a group's listing, each given a row id (SQLite's answer at once: SyncListingReads). */
export interface ListingReads {
  /** membersSql's rows of the group. */
  members(groupId: number): Promise<MemberRow[]>;
  /** censusSql's row of the group. */
  census(groupId: number): Promise<Census>;
  /** One registrant's row by its row id. */
  row(id: number): Promise<MemberRow | undefined>;
}

/** ListingReads that answer at once (SQLite's statements). */
export type SyncListingReads = {
  [K in keyof ListingReads]: (id: number) => Awaited<ReturnType<ListingReads[K]>>;
};

/** What a listing shows of group `groupId`: its first members, with its census and head when it has more. */
export async function listGroup(groupId: number, read: ListingReads): Promise<ListedMembers> {
  const rows = await read.members(groupId);
  const census = rows.length > MAX_LISTED_MEMBERS ? await read.census(groupId) : undefined;
  const head = census && missingHead(rows, census);
  return listedMembers(rows, census, head === undefined ? undefined : await read.row(head));
}

/** listGroup with reads that answer at once: inside a synchronous transaction or statement budget. */
export function listGroupNow(groupId: number, read: SyncListingReads): ListedMembers {
  const rows = read.members(groupId);
  const census = rows.length > MAX_LISTED_MEMBERS ? read.census(groupId) : undefined;
  const head = census && missingHead(rows, census);
  return listedMembers(rows, census, head === undefined ? undefined : read.row(head));
}
