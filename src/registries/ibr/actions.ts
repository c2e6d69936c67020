/** The IBR registry-specific endpoints (ibr_api_v1.0.0.yaml): `sync/enrolled`, `sync/enrollment/updates`. */
import type { z } from "@hono/zod-openapi";
import type { ProfileAction } from "../profile.ts";
import {
  EnrolledRequest,
  EnrolledResponse,
  EnrollmentUpdatesRequest,
  EnrollmentUpdatesResponse,
} from "./schemas.ts";
import { answerEnrolled } from "./enrolled.ts";
import { applyEnrollmentUpdates } from "./enrollment_updates.ts";
import { rejectedEnrolled, rejectedUpdates } from "./rejected.ts";
import type { Deps } from "../../deps.ts";
import type { IbrStore } from "./store.ts";
import type { CallbackHeaderAction } from "../../actions/profile_routes.ts";

/**
 * The store of a running server, loaded on first use: ./sql_store.ts reaches the registry store, which reaches
 * the profile list, which holds this profile (a static import would be a cycle evaluated before this module).
 */
async function store(deps: Deps): Promise<IbrStore> {
  const { ibrStore } = await import("./sql_store.ts");
  return ibrStore(deps);
}

/** `sync/enrolled`: header action `search`, answered as `on-search` (like DR's sync/disabled). */
export const ENROLLED_ACTION: ProfileAction = {
  path: "/sync/enrolled",
  summary: "Is this person enrolled in this programme? (a yes/no per query; no record is returned)",
  requestAction: "search",
  responseAction: "on-search",
  request: EnrolledRequest,
  response: EnrolledResponse,
  scope: "registry.search",
  // One criteria object, or a list of them.
  itemCount: (m) => Array.isArray(m.enrolled_criteria) ? m.enrolled_criteria.length : 1,
  handle: async (deps, input) => answerEnrolled(await store(deps), input),
  rejected: rejectedEnrolled,
};

/**
 * `sync/enrollment/updates`: an SP system reports its beneficiaries. The yaml's request header is a callback
 * header with action `notify`; its answer is a receipt (TxnStatusRequest's txn_type `receipt` names these), sent
 * as `on-receipt`. Writing records needs its own scope, `registry.enrollment`: a client that may search may not write.
 */
export const ENROLLMENT_UPDATES_ACTION: CallbackHeaderAction = {
  path: "/sync/enrollment/updates",
  summary: "Enrolment updates from an SP system: beneficiaries enrolled, or their enrolments changed",
  requestAction: "notify",
  responseAction: "on-receipt",
  request: EnrollmentUpdatesRequest,
  response: EnrollmentUpdatesResponse,
  scope: "registry.enrollment",
  handle: async (deps, input) => applyEnrollmentUpdates(await store(deps), input),
  // Its writes are safe to repeat (./enrollment_updates.ts): a copy is admitted again until it has been answered.
  writes: true,
  rejected: rejectedUpdates,
  // The yaml's header is MsgCallbackHeader: total_count may be left out (then the number of beneficiaries).
  callbackHeader: {
    itemCount: (m: z.output<typeof EnrollmentUpdatesRequest>) =>
      (m.enrolled_updates ?? m.receipt_information)?.beneficiaries.length ?? 0,
  },
};
