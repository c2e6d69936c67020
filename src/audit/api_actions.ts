/**
 * The audit action of each admin API write: `METHOD route` (as Hono matched it, under /admin/v1) to the action
 * name and how its target is found. A write missing here is still recorded, as `METHOD route`.
 */

/** Where a target id comes from: a path parameter, a body field or a field of the (JSON) answer. */
export type IdSource = { param: string } | { body: string } | { answer: string } | {
  params: [string, string];
};

/** One write's audit description. */
export interface ApiAction {
  action: string;
  target: string;
  id?: IdSource;
  /** False where the body is personal data (registrants): only its field names are recorded. */
  values?: false;
  /** Detail names to fields of the (JSON) answer whose values are recorded (never secret: named here). */
  answerDetail?: Record<string, string>;
  /** Recorded when answered with this status too: that refusal wrote (a failed JWKS fetch is kept on the sender). */
  refusedWrite?: number;
}

const registrant = (verb: string, id?: IdSource): ApiAction => ({
  action: `registrant.${verb}`,
  target: "registrant",
  id,
  values: false,
});

/** The admin API's writes. */
export const API_ACTIONS: Readonly<Record<string, ApiAction>> = {
  "POST /senders": { action: "sender.create", target: "sender", id: { body: "sender_id" } },
  "PATCH /senders/:id": { action: "sender.update", target: "sender", id: { param: "id" } },
  "DELETE /senders/:id": { action: "sender.delete", target: "sender", id: { param: "id" } },
  "POST /senders/:id/disable": { action: "sender.disable", target: "sender", id: { param: "id" } },
  "POST /senders/:id/enable": { action: "sender.enable", target: "sender", id: { param: "id" } },
  "POST /senders/:id/keys": { action: "sender_key.add", target: "sender", id: { param: "id" } },
  "DELETE /senders/:id/keys/:keyId": {
    action: "sender_key.remove",
    target: "sender_key",
    id: { params: ["id", "keyId"] },
  },
  "POST /senders/:id/keys/fetch": {
    action: "sender_key.fetch",
    target: "sender",
    id: { param: "id" },
    answerDetail: { ok: "ok" },
    refusedWrite: 502,
  },
  "POST /clients": { action: "client.create", target: "client", id: { answer: "client_id" } },
  "POST /clients/:id/revoke": { action: "client.revoke", target: "client", id: { param: "id" } },
  "POST /clients/:id/rotate-secret": {
    action: "client.rotate_secret",
    target: "client",
    id: { param: "id" },
  },
  "POST /transactions/:correlation_id/retry": {
    action: "transaction.retry",
    target: "transaction",
    id: { param: "correlation_id" },
  },
  "POST /notifications/:notification_id/retry": {
    action: "notification.retry",
    target: "notification",
    id: { param: "notification_id" },
  },
  "POST /subscriptions/:code/notifications/retry": {
    action: "subscription.retry_notifications",
    target: "subscription",
    id: { param: "code" },
  },
  "POST /subscriptions": { action: "subscription.create", target: "subscription", id: { answer: "code" } },
  "POST /subscriptions/import": {
    action: "subscription.import",
    target: "subscription",
    answerDetail: { read: "read", created: "created", rejected: "rejected_count" },
  },
  "POST /subscriptions/:code/approve": {
    action: "subscription.approve",
    target: "subscription",
    id: { param: "code" },
  },
  "POST /subscriptions/:code/cancel": {
    action: "subscription.cancel",
    target: "subscription",
    id: { param: "code" },
  },
  "POST /subscriptions/:code/reactivate": {
    action: "subscription.reactivate",
    target: "subscription",
    id: { param: "code" },
  },
  "POST /registrants": registrant("create", { answer: "id" }),
  "PUT /registrants/:id": registrant("replace", { param: "id" }),
  "PATCH /registrants/:id": registrant("update", { param: "id" }),
  "DELETE /registrants/:id": registrant("delete", { param: "id" }),
  "POST /registries/:registry/registrants": registrant("create", { answer: "id" }),
  "PUT /registries/:registry/registrants/:id": registrant("replace", { param: "id" }),
  "PATCH /registries/:registry/registrants/:id": registrant("update", { param: "id" }),
  "DELETE /registries/:registry/registrants/:id": registrant("delete", { param: "id" }),
  "POST /registries/:registry/imports": {
    action: "registry.import",
    target: "registry",
    id: { param: "registry" },
    answerDetail: { job_id: "id" },
  },
};

/**
 * The target kind of each action, whatever it came through: the admin API's, which the console and the CLI
 * record too (an audit filter on `target_kind` and `target_id` finds an action from every source).
 */
export const ACTION_TARGETS: ReadonlyMap<string, string> = new Map(
  Object.values(API_ACTIONS).map((a) => [a.action, a.target]),
);

/** The target kind an action is recorded with: ACTION_TARGETS', else the action's first part (`admin_token`). */
export function targetKindOf(action: string): string {
  return ACTION_TARGETS.get(action) ?? action.split(".")[0];
}
