/**
 * The checks a subscribe request's `subscribe_criteria` passes before a subscription is stored, shared by the
 * subscribe processor and the operator's seeding (admin API, CLI, file import), so both refuse the same things
 * with the same messages.
 */
import type { Deps } from "../deps.ts";
import { OutboundError } from "../net/outbound.ts";
import {
  compileFilter,
  dedupeKey,
  eventTypeName,
  isChangeEvent,
  normaliseEventType,
  normaliseRecordType,
  profileEventType,
  SubscribeRejection,
  subscriptionTime,
} from "./rules.ts";
import type { NewSubscription } from "./store.ts";
import { MAX_FILTER_JSON, MAX_FREQUENCY_JSON } from "../dci/limits.ts";
import { isRegType, profileOf, recordTypeNamed } from "../registries/index.ts";
import { cronProblem } from "./frequency.ts";

type Json = Record<string, unknown>;

/** The stored fields a checked `subscribe_criteria` gives (the rest come from the sender and the request). */
export type CheckedCriteria = Omit<
  NewSubscription,
  | "sender_id"
  | "registry"
  | "callback_url"
  | "correlation_id"
  | "reference_id"
  | "locale"
  | "active"
  | "now"
  | "code"
>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The length of a value as JSON (0 when absent). */
function jsonLength(v: unknown): number {
  return v === undefined ? 0 : JSON.stringify(v)?.length ?? 0;
}

/**
 * Checks one `subscribe_criteria` for `registry` at `now`: event and record types, the filter (compiled with the
 * search query compiler), frequency and its times. Throws SubscribeRejection with the item-level code.
 */
export function checkCriteria(raw: unknown, registry: string, now: string): CheckedCriteria {
  const c = isObject(raw) ? raw : undefined;
  if (!c) throw new SubscribeRejection("rjct.notify_details.invalid", "subscribe_criteria must be an object");
  const profile = profileOf(registry);
  // As a search refuses it: a reg_type naming another registry would have the subscription follow this one's
  // records while its answer echoed the other's type (a client at the wrong path never told).
  const regType = c.reg_type === undefined || c.reg_type === null || c.reg_type === ""
    ? undefined
    : c.reg_type;
  if (
    profile && regType !== undefined && !isRegType(profile, regType) && !recordTypeNamed(profile, regType)
  ) {
    throw new SubscribeRejection(
      "rjct.notify_types.invalid",
      `reg_type ${
        JSON.stringify(regType)?.slice(0, 60)
      } is not served here (${profile.name}: ${profile.regType})`,
    );
  }
  const eventType = normaliseEventType(c.reg_event_type, profile);
  const changes = profile?.changeEvents !== false;
  if (!eventType || (!changes && isChangeEvent(eventType))) {
    const own = profile?.eventTypes.map((e) => e.names[0]) ?? [];
    throw new SubscribeRejection(
      "rjct.notify_types.invalid",
      `reg_event_type ${JSON.stringify(c.reg_event_type ?? null)?.slice(0, 60)} is not one of ${
        [...(changes ? ["registration", "update", "delete"] : []), ...own].join(", ")
      }${changes ? "" : ` (the ${profile?.name} spec names no others)`}`,
    );
  }
  const recordType = profile ? normaliseRecordType(c.notify_record_type, profile) : undefined;
  if (!recordType) {
    throw new SubscribeRejection(
      "rjct.notify_types.invalid",
      `notify_record_type ${JSON.stringify(c.notify_record_type ?? null)?.slice(0, 60)} is not ${
        profile?.recordTypes.map((rt) => rt.storage).join(" or ") ?? `a record type of ${registry}`
      }`,
    );
  }
  const only = profileEventType(profile, eventType)?.recordTypes;
  if (only && !only.includes(recordType)) {
    throw new SubscribeRejection(
      "rjct.notify_types.invalid",
      `reg_event_type ${eventTypeName(eventType)} happens to ${only.join(" or ")} records, not ${recordType}`,
    );
  }
  if (jsonLength(c.filter) > MAX_FILTER_JSON) {
    throw new SubscribeRejection(
      "rjct.notify_details.invalid",
      `filter is larger than ${MAX_FILTER_JSON} characters of JSON`,
    );
  }
  const compiled = compileFilter(c.filter_type, c.filter, recordType, now.slice(0, 10));
  // frequency: start_time/end_time bound the events notified (end_time also expires the subscription); the
  // cron expression in frequency.frequency holds events until its next run, then sends them as one notify.
  const freq = c.frequency === undefined || c.frequency === null ? undefined : c.frequency;
  if (freq !== undefined && !isObject(freq)) {
    throw new SubscribeRejection("rjct.notify_details.invalid", "frequency must be an object");
  }
  if (jsonLength(freq) > MAX_FREQUENCY_JSON) {
    throw new SubscribeRejection(
      "rjct.notify_details.invalid",
      `frequency is larger than ${MAX_FREQUENCY_JSON} characters of JSON`,
    );
  }
  const cron = freq?.frequency === undefined || freq?.frequency === null
    ? undefined
    : cronProblem(freq.frequency, now);
  if (cron) throw new SubscribeRejection("rjct.notify_details.invalid", `frequency.frequency ${cron}`);
  const start = subscriptionTime(freq?.start_time, "frequency.start_time");
  const end = subscriptionTime(freq?.end_time ?? c.end_time, "frequency.end_time");
  if (end && end <= now) {
    throw new SubscribeRejection("rjct.notify_details.invalid", "frequency.end_time is in the past");
  }
  if (start && end && end <= start) {
    throw new SubscribeRejection("rjct.notify_details.invalid", "frequency.end_time is not after start_time");
  }
  return {
    reg_type: typeof regType === "string" ? regType.slice(0, 200) : null,
    reg_event_type: eventType,
    record_type: recordType,
    notify_record_type: String(c.notify_record_type).slice(0, 200),
    filter_type: compiled?.filterType ?? null,
    filter: compiled ? JSON.stringify(c.filter) : null,
    frequency: freq ? JSON.stringify(freq) : null,
    dedupe_key: dedupeKey(
      registry,
      eventType,
      recordType,
      compiled?.filterType,
      compiled ? c.filter : undefined,
      { cron: typeof freq?.frequency === "string" ? freq.frequency : undefined, start, end },
    ),
    start_time: start ?? null,
    end_time: end ?? null,
  };
}

/**
 * Checks the URL notifications will go to with the outbound guard (the sender's allowlist, SSRF rules);
 * `missing` is the refusal when there is no usable URL. Throws SubscribeRejection.
 */
export async function checkNotifyUrl(
  deps: Deps,
  url: string | undefined,
  options: { senderId: string; missing: string },
): Promise<string> {
  if (!url) throw new SubscribeRejection("rjct.notify_details.invalid", options.missing);
  try {
    await deps.http.check(url, { sender: options.senderId });
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    throw new SubscribeRejection("rjct.notify_details.invalid", `notification URL refused: ${err.message}`);
  }
  return url;
}
