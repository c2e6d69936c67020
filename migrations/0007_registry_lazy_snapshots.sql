-- A registration written by the import's fast path stores its snapshot as '' ("the registrant's data as
-- stored"): the record is then kept once (registrant_data) instead of twice, which is a third of a bulk
-- load's bytes. Before registrant_data of a registrant changes, `saveRegistrant` copies the old data into
-- its lazy events (found through this index), so an event always reads the record as it was at the event.
CREATE INDEX registry_events_lazy ON registry_events (registrant_id) WHERE snapshot = '';
