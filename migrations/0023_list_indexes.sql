-- Keyset pages of the console and the admin API lists (issue 15): each filter a list offers has an index that
-- leads with the filter's column and then follows the list's order, so a page reads its rows in order and stops
-- at the limit, whatever the table holds. Lists are newest first by (created_at, id); an index's rows end with
-- the rowid, so (x, created_at) is (x, created_at, id). tests/console/list_plans_test.ts checks every plan.
--
-- transactions: state, sender, registry, action, transaction_id, and the time window alone.
CREATE INDEX transactions_list_created ON transactions (created_at);
CREATE INDEX transactions_list_state ON transactions (state, created_at);
CREATE INDEX transactions_list_sender ON transactions (sender_id, created_at);
CREATE INDEX transactions_list_registry ON transactions (registry, created_at);
CREATE INDEX transactions_list_action ON transactions (action, created_at);
CREATE INDEX transactions_list_txn_id ON transactions (transaction_id, created_at);
-- notifications: (status, created_at) and (created_at) exist since 0005; a subscription's log is the last.
CREATE INDEX notifications_list_subscription ON notifications (subscription_id, created_at);
