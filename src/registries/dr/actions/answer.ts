/**
 * What the three DR endpoints share: reading the criteria, finding the one person it names, and the item's
 * status. The request has no reference_id (the yaml gives DisabledRequest and GetDisabilitySupportRequest a
 * transaction_id and one criteria only), so the single answer item carries the transaction_id as its
 * reference_id.
 */
import type { Deps } from "../../../deps.ts";
import type { Registrant } from "../../../registry/model.ts";
import type { ActionInput, ActionResult, RejectedIds } from "../../profile.ts";
import { QueryError } from "../../../registry/query_parse.ts";
import { readDisabledCriteria } from "./criteria.ts";
import type { PersonFinder } from "./lookup.ts";

type Json = Record<string, unknown>;

/** The person the request names (undefined: not in the registry), or why the request cannot be answered. */
export type Found =
  | { ok: true; person?: Registrant }
  | { ok: false; code: "rjct.search_criteria.invalid"; message: string };

/** Reads `disabled_criteria` and finds the one live DR person holding that identifier. */
export async function findPerson(
  deps: Pick<Deps, "storage">,
  message: Json,
  finder: PersonFinder,
): Promise<Found> {
  try {
    const id = readDisabledCriteria(message.disabled_criteria);
    const persons = await finder(deps, id, 2);
    if (persons.length > 1) {
      return {
        ok: false,
        code: "rjct.search_criteria.invalid",
        message: `identifier ${JSON.stringify(id.value)} is held by more than one person: give its type`,
      };
    }
    return { ok: true, person: persons[0] };
  } catch (e) {
    if (e instanceof QueryError) {
      return { ok: false, code: "rjct.search_criteria.invalid", message: e.message };
    }
    throw e;
  }
}

/** The fields every answer item starts with. */
export function itemHead(input: ActionInput, message: Json): { reference_id: string; timestamp: string } {
  return { reference_id: String(message.transaction_id), timestamp: new Date(input.now).toISOString() };
}

/** The handler's result for one answered item: the header is rjct exactly when the item is. */
export function oneItem(
  listName: string,
  input: ActionInput,
  message: Json,
  item: Json & { status: string; status_reason_message?: string },
): ActionResult {
  return {
    status: item.status === "succ" ? "succ" : "rjct",
    ...(item.status === "succ" ? {} : { reasonMessage: item.status_reason_message }),
    totalCount: 1,
    completedCount: 1,
    message: {
      transaction_id: message.transaction_id,
      correlation_id: input.correlationId,
      [listName]: [item],
    },
  };
}

/**
 * The complete answer refusing a whole request (a header-level rejection: version, action, message_id, ...) as
 * the endpoint's own response: one rejected item under `listName`, plus `extra` (disabled_status "no"). The
 * request may be malformed: its transaction_id is used only when it is a string the answer may carry.
 */
export function refusal(
  listName: string,
  request: unknown,
  ids: RejectedIds,
  extra: Json = {},
): { message: Json; items: number } {
  const raw = (request as Json | null)?.transaction_id;
  const transactionId = typeof raw === "string" && raw.length <= 99 ? raw : "";
  return {
    message: {
      transaction_id: transactionId,
      correlation_id: ids.correlationId,
      [listName]: [{
        reference_id: transactionId,
        timestamp: ids.now,
        status: "rjct",
        status_reason_message: ids.reason.slice(0, 999),
        ...extra,
      }],
    },
    items: 1,
  };
}
