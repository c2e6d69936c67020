/**
 * The complete answers refusing a whole IBR request at header level (rjct.version.invalid,
 * rjct.message_id.duplicate, ...): every query or beneficiary of the request answered `rjct` with the reason, in
 * the endpoint's own response shape (EnrolledResponse: `enrolled_status` "no"; EnrollmentUpdatesResponse).
 */
import { isObj, type Obj } from "./fields.ts";

/** What varies in a refusal (ProfileAction.rejected's ids). */
export interface RefusalIds {
  correlationId: string;
  now: string;
  reason: string;
}

function transactionId(request: unknown): string {
  const t = isObj(request) ? request.transaction_id : undefined;
  return typeof t === "string" ? t.slice(0, 99) : "";
}

/**
 * The reference of the i-th item: its reference_id, else its @id (unless that is its type: the yaml's example
 * writes `"@id": "Beneficiary"`), else its position from 1.
 */
export function itemRef(item: unknown, i: number): string {
  const o = isObj(item) ? item : {};
  const r = o.reference_id ?? (o["@id"] !== o["@type"] ? o["@id"] : undefined);
  return typeof r === "string" && r.length <= 99 ? r : String(i + 1);
}

function refusal(
  request: unknown,
  list: unknown[],
  ids: RefusalIds,
  extra: Obj,
): { message: Obj; items: number } {
  const items = list.slice(0, 1000).map((item, i) => ({
    reference_id: itemRef(item, i),
    timestamp: ids.now,
    status: "rjct",
    status_reason_message: ids.reason.slice(0, 999),
    ...extra,
  }));
  return {
    message: {
      transaction_id: transactionId(request),
      correlation_id: ids.correlationId,
      enrolled_response: items,
    },
    items: items.length,
  };
}

/** `sync/enrolled` refused whole. */
export function rejectedEnrolled(request: unknown, ids: RefusalIds): { message: Obj; items: number } {
  const c = isObj(request) ? request.enrolled_criteria : undefined;
  const list = Array.isArray(c) ? c : c === undefined ? [] : [c];
  return refusal(request, list, ids, { enrolled_status: "no" });
}

/** `sync/enrollment/updates` refused whole. */
export function rejectedUpdates(request: unknown, ids: RefusalIds): { message: Obj; items: number } {
  const u = isObj(request) ? request.enrolled_updates ?? request.receipt_information : undefined;
  const list = isObj(u) && Array.isArray(u.beneficiaries) ? u.beneficiaries : [];
  return refusal(request, list, ids, {});
}
