-- Fan-out's previous snapshot of a registrant (src/subscriptions/fanout_store.ts PREVIOUS: the event before this
-- one of the same registrant, for the event types that compare a record with its last state: a household's new
-- member, a crvs vital event, an IBR enrolment) walked back along the event ids, reading every event of every
-- registrant since that registrant's last: 0.6 s at 300,000 events, inside fan-out's write transaction, once per
-- subscription. Through this index it is one seek. A bulk load appends to it in key order (ids grow with the
-- registrants), as to registry_events_lazy.
CREATE INDEX registry_events_registrant ON registry_events (registrant_id, id);
