/**
 * The DR-specific sync endpoints (dr_api_v1.0.0.yaml), each answered about the one person its
 * `disabled_criteria` names by identifier:
 * - `sync/disabled`: yes or no, and nothing else (data minimisation: no record, no reason code, and a person
 *   the registry does not hold is a plain "no"). Yes means a disability assessed and approved
 *   (disability_status Approved); Pending, Expired or none is no.
 * - `sync/get-disability-details`: the person's disability part of PWDPerson (status, level, impairments,
 *   transport, housing, programmes), without personal_details.
 * - `sync/get-disability-support`: the person's DisabilitySupport list.
 * A person not in the registry is answered succ with no records, as a search that finds nobody.
 */
import type { ActionInput, ActionResult, ProfileAction, RejectedIds } from "../../profile.ts";
import type { Deps } from "../../../deps.ts";
import type { Registrant } from "../../../registry/model.ts";
import { disabilityPart, typed } from "../record.ts";
import { DISABILITY_SUPPORT } from "../classes.ts";
import {
  DisabledRequest,
  DisabledResponse,
  GetDisabilityInfoResponse,
  GetDisabilitySupportRequest,
  GetDisabilitySupportResponse,
} from "../schemas.ts";
import { findPerson, itemHead, oneItem, refusal } from "./answer.ts";
import { type PersonFinder, storeFinder } from "./lookup.ts";

type Json = Record<string, unknown>;

/** Whether a stored DR person counts as disabled for `sync/disabled`. */
export function isDisabled(reg: Registrant | undefined): boolean {
  return reg?.details?.disability_status === "Approved";
}

/** `sync/disabled` answered for one request. */
export async function answerDisabled(
  deps: Pick<Deps, "storage">,
  input: ActionInput,
  finder: PersonFinder,
): Promise<ActionResult> {
  const found = await findPerson(deps, input.message, finder);
  const item = found.ok
    ? {
      ...itemHead(input, input.message),
      status: "succ",
      disabled_status: isDisabled(found.person) ? "yes" : "no",
    }
    : {
      ...itemHead(input, input.message),
      status: "rjct",
      status_reason_message: found.message,
      disabled_status: "no",
    };
  return oneItem("disabled_response", input, input.message, item);
}

/** A `search_response` answer whose records are `records(person)` for the person found. */
async function answerRecords(
  deps: Pick<Deps, "storage">,
  input: ActionInput,
  finder: PersonFinder,
  records: (person: Registrant) => unknown,
): Promise<ActionResult> {
  const found = await findPerson(deps, input.message, finder);
  const head = itemHead(input, input.message);
  const item: Json & { status: string; status_reason_message?: string } = found.ok
    ? {
      ...head,
      status: "succ",
      data: { version: "1.0.0", reg_records: found.person ? [records(found.person)] : [] },
    }
    : { ...head, status: "rjct", status_reason_code: found.code, status_reason_message: found.message };
  return oneItem("search_response", input, input.message, item);
}

/** A person's disability part as `sync/get-disability-details` answers it. */
export function disabilityInfo(reg: Registrant): Json {
  return {
    "@type": "PWDPerson",
    "@id": reg.externalId,
    ...disabilityPart(reg),
    registration_date: reg.registrationDate,
    last_updated: reg.lastUpdated,
  };
}

/** A person's DisabilitySupport list as `sync/get-disability-support` answers it. */
export function disabilitySupport(reg: Registrant): Json[] {
  return ((reg.details?.disability_support ?? []) as Json[]).map((s) => typed(DISABILITY_SUPPORT, s));
}

/** `sync/disabled`'s answer refusing a whole request (header-level): no, with the reason. */
export function refusedDisabled(request: unknown, ids: RejectedIds) {
  return refusal("disabled_response", request, ids, { disabled_status: "no" });
}

/** `sync/get-disability-details` / `-support`'s answer refusing a whole request (header-level). */
export function refusedSearch(request: unknown, ids: RejectedIds) {
  return refusal("search_response", request, ids);
}

/** The three DR endpoints (`finder` finds persons by identifier; the store's unless a test gives its own). */
export function drActions(finder: PersonFinder = storeFinder): ProfileAction[] {
  const common = {
    requestAction: "search",
    responseAction: "on-search",
    scope: "registry.search",
    // Each request names one person (one disabled_criteria object).
    itemCount: () => 1,
  } as const;
  return [
    {
      ...common,
      path: "/sync/disabled",
      summary: "Whether a person is registered as disabled: yes or no, no record (data minimisation)",
      request: DisabledRequest,
      response: DisabledResponse,
      handle: (deps, input) => answerDisabled(deps, input, finder),
      rejected: refusedDisabled,
    },
    {
      ...common,
      path: "/sync/get-disability-details",
      summary:
        "A person's disability details: status, level, impairments (PWDPerson without personal details)",
      request: GetDisabilitySupportRequest,
      response: GetDisabilityInfoResponse,
      handle: (deps, input) => answerRecords(deps, input, finder, disabilityInfo),
      rejected: refusedSearch,
    },
    {
      ...common,
      path: "/sync/get-disability-support",
      summary:
        "A person's disability support: human assistance, assistive technology, housing, medical, animal",
      request: GetDisabilitySupportRequest,
      response: GetDisabilitySupportResponse,
      handle: (deps, input) => answerRecords(deps, input, finder, disabilitySupport),
      rejected: refusedSearch,
    },
  ];
}
