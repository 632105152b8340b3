-- "My requests": a customer's (or any caller's) own records, most recently updated first. Without
-- it the list walked the records in order checking each one's requester, a bounded walk that
-- answered short pages for a caller with few records among many.
CREATE INDEX records_kind_requester_updated ON records (kind, requester_id, updated_at, id);
