-- A receipt that names only a subscription code marks that subscription's latest delivered notification
-- (src/subscriptions/notifications.ts RECEIPT_SQL.byCode). Through the (subscription_id, event_id) key it walked
-- back over every pending row newer than that one, reading each row to test its status, inside the receipt's
-- write transaction: ~0.12 s at 300,000 pending rows, ~0.4 s at a million, a receiver acknowledging each notify
-- of a backlog by code held the write lock nearly all the time. This index holds the delivered rows only.
CREATE INDEX notifications_delivered ON notifications (subscription_id, event_id)
  WHERE status IN ('sent', 'received');
