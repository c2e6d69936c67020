-- The admin transaction list filtered by state callback_failed and a sender (an operator's triage: "the failed
-- callbacks of partner X") read the sender's (sender_id, created_at) index, every transaction of the sender in
-- retention, to find its few failed ones, or the state's, every failed transaction of every sender (a dead
-- receiver's thousands) to find that sender's. This index holds the failed rows only, in the list's order: a row
-- enters and leaves it on the rare moves into and out of callback_failed, never on the hot path.
-- src/transactions/txn_sql.ts names its condition as a constant (a bound state could not use it).
CREATE INDEX transactions_failed_sender ON transactions (sender_id, created_at) WHERE state = 'callback_failed';
