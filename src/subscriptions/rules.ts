/**
 * Subscription rules that need no storage: event and record type names, start and end times, the filter (search
 * query language, compiled with the registry's query compiler), the dedupe key and the notification URL.
 */
import type { CallbackUrlMode } from "../senders/settings.ts";
import { CALLBACK_SUFFIX, callbackBase, trimTrailingSlashes } from "../dci/callback_url.ts";
import { parseQuery, QueryError, queryTypeName } from "../registry/query_parse.ts";
import { type Compiled, toSql } from "../registry/query_sql.ts";
import type { Dialect } from "../registry/query_dialect.ts";
import type { RegistryEventType } from "../registry/events.ts";
import type { ProfileEventType, RegistryProfile } from "../registries/profile.ts";
import {
  groupStorageOf,
  hasHouseholds,
  lastSegment,
  recordTypeNamed,
  recordTypeOfStorage,
  socialRegistry,
} from "../registries/index.ts";
import { canonicalJson } from "../dci/canonical.ts";
import { cronExpression } from "./frequency.ts";
import { normaliseDate } from "../registry/attributes.ts";
import { isZonedTimestamp } from "../dci/schemas.ts";
import { MAX_TIMESTAMP } from "../dci/limits.ts";

/** A per-item subscribe refusal (`rjct.notify_types.invalid`, `rjct.notify_details.invalid`, ...). */
export class SubscribeRejection extends Error {
  constructor(readonly code: string, message: string) {
    super(message.slice(0, 999));
    this.name = "SubscribeRejection";
  }
}

const EVENT_TYPES: Record<string, RegistryEventType> = {
  registration: "registration",
  register: "registration",
  registered: "registration",
  new: "registration",
  create: "registration",
  update: "update",
  updated: "update",
  change: "update",
  delete: "delete",
  deleted: "delete",
  remove: "delete",
};

/** Whether `type` is one of the change events every registry has (registration, update, delete). */
export function isChangeEvent(type: string): type is RegistryEventType {
  return type === "registration" || type === "update" || type === "delete";
}

/**
 * Normalises `reg_event_type` (case-insensitive; `REGISTER` and the profile's `registrationNames` accepted) to a
 * change event, or to one of the registry's own event types (`profile`, e.g. crvs `Death`: its first name, as
 * stored); undefined otherwise.
 */
export function normaliseEventType(raw: unknown, profile?: RegistryProfile): string | undefined {
  const key = lastSegment(raw);
  if (key === undefined) return undefined;
  if (Object.hasOwn(EVENT_TYPES, key)) return EVENT_TYPES[key];
  if (profile?.registrationNames?.some((n) => n.toLowerCase() === key)) return "registration";
  return profile?.eventTypes.find((e) => e.names.some((n) => lastSegment(n) === key))?.names[0];
}

/** The registry event type stored as `name` (its first name) in `profile`, or undefined. */
export function profileEventType(
  profile: RegistryProfile | undefined,
  name: string,
): ProfileEventType | undefined {
  return profile?.eventTypes.find((e) => e.names[0] === name);
}

/**
 * Normalises `notify_record_type` (`person`, `Person`, `spdci:...:Group`, `household`, ...) to the storage
 * record type of `profile`'s registry (social when not given), or undefined.
 */
export function normaliseRecordType(
  raw: unknown,
  profile: RegistryProfile = socialRegistry(),
): string | undefined {
  return recordTypeNamed(profile, raw)?.storage;
}

/**
 * The `reg_event_type` this server sends (notify data, SubscriptionInfo): the spec's NotifyEventRequest enum
 * names a registration `REGISTER`; it has no value for updates and deletes, so those are sent in the same
 * style (`UPDATE`, `DELETE`); event names compare case-insensitively on input. A registry's own event type is
 * sent as its profile names it first.
 */
export function eventTypeName(type: string): string {
  if (!isChangeEvent(type)) return type;
  return type === "registration" ? "REGISTER" : type.toUpperCase();
}

/**
 * An ISO 8601 date-time with zone (or a date), normalised to UTC, or undefined when absent; throws when invalid.
 * The length is checked first and the pattern is linear: a stored request is re-run by the sweeper after a crash.
 */
export function subscriptionTime(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw !== "string" || raw.length > MAX_TIMESTAMP) {
    throw new SubscribeRejection(
      "rjct.notify_details.invalid",
      `${field} must be an ISO 8601 date-time of at most ${MAX_TIMESTAMP} characters`,
    );
  }
  const ms = isZonedTimestamp(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) {
    if (normaliseDate(raw) === raw) return `${raw}T00:00:00.000Z`;
    throw new SubscribeRejection("rjct.notify_details.invalid", `${field} must be an ISO 8601 date-time`);
  }
  return new Date(ms).toISOString();
}

/** A locale as the spec sends it (three lowercase letters, ISO 639-3), or undefined (not sent). */
export function localeOf(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const l = raw.trim().toLowerCase();
  return /^[a-z]{3}$/.test(l) ? l : undefined;
}

/** True when a filter means "every record" (absent, null or an empty object/array). */
export function isEmptyFilter(filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  if (Array.isArray(filter)) return filter.length === 0;
  return typeof filter === "object" && Object.keys(filter).length === 0;
}

/** Guesses the filter type when none is sent: a predicate list, {type,value} identifiers, else expression. */
function filterTypeOf(filterType: unknown, filter: unknown): unknown {
  if (filterType !== undefined && filterType !== null && filterType !== "") return filterType;
  if (Array.isArray(filter)) return "predicate";
  const f = filter as Record<string, unknown>;
  if (typeof f?.type === "string" && (typeof f.value === "string" || typeof f.value === "number")) {
    return "idtype-value";
  }
  return "expression";
}

/** A compiled subscription filter: a WHERE fragment over `registrants r` (plus the joined `g`). */
export interface CompiledFilter extends Compiled {
  filterType: string;
}

/**
 * Validates and compiles a filter for storage record type `recordType` (its registry's attributes) in match
 * mode (deleted registrants included), in `dialect` (SQLite by default; the same filter is valid or refused in
 * both). Throws SubscribeRejection `rjct.notify_details.invalid` naming what is wrong.
 */
export function compileFilter(
  filterType: unknown,
  filter: unknown,
  recordType: string,
  today: string,
  dialect?: Dialect,
): CompiledFilter | undefined {
  if (isEmptyFilter(filter)) return undefined;
  const type = filterTypeOf(filterType, filter);
  const found = recordTypeOfStorage(recordType);
  try {
    const parsed = parseQuery(type, filter);
    const compiled = toSql(parsed.cond, {
      recordType: found?.recordType.kind ?? (recordType === "group" ? "group" : "person"),
      storage: recordType,
      groupStorage: found ? groupStorageOf(found.profile) : undefined,
      noHouseholds: found ? !hasHouseholds(found.profile) : undefined,
      attributes: found?.profile.attributes,
      idTypes: found?.profile.idTypes,
      today,
      mode: "match",
      dialect,
    });
    // As the spec names it (its QueryType enum), whatever prefix or padding the request wrote.
    return { ...compiled, filterType: queryTypeName(type)! };
  } catch (err) {
    if (err instanceof QueryError) {
      throw new SubscribeRejection("rjct.notify_details.invalid", `filter: ${err.message}`);
    }
    throw err;
  }
}

/** When a subscription's events are sent: its cron expression and its window, each as stored (normalised). */
export interface Schedule {
  cron?: string;
  start?: string | null;
  end?: string | null;
}

/**
 * The key two subscriptions of one sender share when they ask for the same thing: the same events (registry,
 * event and record type, filter) sent on the same schedule (cron, start and end). A subscription without a cron
 * or window keeps the key it had before schedules were part of it (`schedule` absent), so it still meets the
 * stored keys of older subscriptions; with one, the key is that key with `schedule` as its last member (the
 * keys are sorted, and "schedule" sorts after every other).
 */
export function dedupeKey(
  registry: string,
  eventType: string,
  recordType: string,
  filterType: string | undefined,
  filter: unknown,
  schedule: Schedule = {},
): string {
  return canonicalJson({
    registry,
    eventType,
    recordType,
    filterType: isEmptyFilter(filter) ? null : (filterType ?? null),
    filter: isEmptyFilter(filter) ? null : filter,
    ...scheduleMember(schedule),
  });
}

/** A duplicate key's `schedule` member: the cron trimmed, its runs of white space made one; none without any. */
function scheduleMember(
  schedule: Schedule,
): { schedule?: { cron: string | null; start: string | null; end: string | null } } {
  const cron = schedule.cron?.trim().split(/\s+/).join(" ") || null;
  const start = schedule.start ?? null;
  const end = schedule.end ?? null;
  return cron || start || end ? { schedule: { cron, start, end } } : {};
}

/** A stored subscription's columns migration 0036 re-keys from. */
export interface StoredSchedule {
  id: number;
  dedupe_key: string;
  frequency: string | null;
  start_time: string | null;
  end_time: string | null;
}

/**
 * Migration 0036: the keys stored before a key held its schedule, re-keyed as dedupeKey writes them now (the
 * stored key with the `schedule` member added). In code on both backends, so a cron with tabs or other white
 * space, or a frequency SQL cannot read as JSON, gets the very key a new subscription would. Returns the rows
 * whose key changes; a row without a cron or window keeps its key.
 */
export function rekeyedSchedules(rows: Iterable<StoredSchedule>): Array<{ id: number; key: string }> {
  const out: Array<{ id: number; key: string }> = [];
  for (const r of rows) {
    // A frequency that is not JSON, or holds no cron string, has no cron to key by.
    const member = scheduleMember({
      cron: cronExpression(r.frequency),
      start: r.start_time,
      end: r.end_time,
    });
    if (!member.schedule) continue;
    const key = canonicalJson({ ...JSON.parse(r.dedupe_key), ...member });
    if (key !== r.dedupe_key) out.push({ id: r.id, key });
  }
  return out;
}

/** The query listing the rows rekeyedSchedules may change (both backends). */
export const SCHEDULED_SUBSCRIPTIONS =
  `SELECT id, dedupe_key, frequency, start_time, end_time FROM subscriptions
  WHERE frequency IS NOT NULL OR start_time IS NOT NULL OR end_time IS NOT NULL`;

/**
 * The URL notifications go to, from a base (the sender's registered callback URL, else header.sender_uri):
 * in the sender's `exact` callback URL mode, the base as given; otherwise a base already ending in a callback
 * path has that segment replaced by `notify`, and any other gets `/registry/notify` appended. Undefined when
 * the base is not an absolute http(s) URL without credentials.
 */
export function notifyUrl(
  base: string | undefined | null,
  mode: CallbackUrlMode = "append",
): string | undefined {
  const url = callbackBase(base);
  if (!url) return undefined;
  if (mode === "exact") return url.toString();
  const trimmed = trimTrailingSlashes(url.pathname);
  if (CALLBACK_SUFFIX.test(trimmed)) {
    url.pathname = trimmed.replace(/\/(txn\/)?[^/]+$/, "") + "/notify";
  } else url.pathname = `${trimmed}/registry/notify`;
  return url.toString();
}
