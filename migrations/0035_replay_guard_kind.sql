-- The replay guard records what admitted each message_id (src/auth/replay.ts, ReplayKind): 'sync', whose copies
-- are all duplicates on any route (a sync answer is stored nowhere, and the envelope's signature does not cover
-- the path, so a sync search's body is valid on the async route too), or 'async', whose copy is admitted again
-- while no transaction is stored under it (an accept answered 503 before storing). Rows recorded before this
-- migration, whose kind is unknown, read as 'sync': at worst an async request answered 503 in the last window
-- before the upgrade must be sent again with a new message_id, where 'async' would let a sync request's body
-- be replayed once to the async route. Twin: src/db/pg/migrations/0035_replay_guard_kind.sql.
ALTER TABLE replay_guard ADD COLUMN kind TEXT NOT NULL DEFAULT 'sync';
