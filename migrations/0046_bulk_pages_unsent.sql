-- A bulk run finds its next page to send, and a progress view its pages not delivered, among the pages not sent:
-- through the primary key they walked every sent page first (at DCI_BULK_PAGE_SIZE 10 a 1M-lookup file has
-- 100,000 pages, and the run asks once a page). The statements name this index's condition (state <> 'sent'); it
-- holds the columns they read (never the message), so SQLite, which has no statistics here, prefers it to the key.
CREATE INDEX bulk_pages_unsent ON bulk_pages (txn, page, state, items, completed, message_id, attempts, last_error)
  WHERE state <> 'sent';
