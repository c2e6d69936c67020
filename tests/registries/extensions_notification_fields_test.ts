/** withNotificationFields(): a deployment's extra notification fields, added beside (never over) the stock ones. */
import assert from "node:assert/strict";
import { withNotificationFields } from "../../src/subscriptions/notify_fields.ts";
import type { NotificationContext } from "../../src/extensions.ts";

const message = () => ({
  transaction_id: "n-1",
  notify_event: [{
    reference_id: "n-1",
    subscription_code: "S1",
    data: { version: "1.0.0", reg_type: "ns:org:RegistryType:Social", reg_records: { "@id": "p1" } },
  }],
});

Deno.test("withNotificationFields() adds the builder's fields to each event's data; the stock fields win", () => {
  const seen: NotificationContext[] = [];
  const out = withNotificationFields(
    (n) => {
      seen.push(n);
      return { programme: "CHILD-GRANT", reg_type: "overwritten?", version: "9" };
    },
    message(),
    { registry: "social", senderId: "alice", subscriptionCode: "S1", eventType: "update" },
  );
  const data = (out.notify_event as Array<{ data: Record<string, unknown> }>)[0].data;
  assert.equal(data.programme, "CHILD-GRANT");
  assert.equal(data.reg_type, "ns:org:RegistryType:Social");
  assert.equal(data.version, "1.0.0");
  assert.deepEqual(seen[0], {
    registry: "social",
    senderId: "alice",
    subscriptionCode: "S1",
    eventType: "update",
    notificationId: "n-1",
    record: { "@id": "p1" },
  });
});

Deno.test("withNotificationFields() without a builder returns the message as it is", () => {
  const m = message();
  assert.equal(
    withNotificationFields(undefined, m, {
      registry: "social",
      senderId: "a",
      subscriptionCode: "S1",
      eventType: "update",
    }),
    m,
  );
  assert.deepEqual(m, message());
});
