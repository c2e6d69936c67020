-- txn status by reference_id_list also matches the header.message_id of the sender's earlier request (OpenSPP's
-- clients and server look transactions up by the request's message_id): an index scoped to the sender, so the
-- lookup is a point read and never a scan of other senders' transactions.
CREATE INDEX transactions_sender_message ON transactions (sender_id, message_id);
