-- The audit trail's rows no longer carry foreign keys on PostgreSQL.
--
-- Each of these rows is written by one code path (`audit::add_events`, `audit::add_transitions`)
-- in the same statement as the event and the record it refers to, and none is ever updated or
-- deleted, so the keys only ever checked rows written a moment before. On PostgreSQL every check
-- is a query of its own plus a share lock on the referenced row: about nine per created incident
-- (seven field changes, the transition's record, actor and event, the event's actor), and the
-- locks on one actor's user row, taken by every concurrent transaction, became shared lock
-- groups. Without them 16 clients created 7% more incidents per second.
--
-- The records' own references (organization, assignment group, assignee, service, configuration
-- item, requester, creator) keep their keys: they are what users enter. SQLite keeps every key;
-- there a check is an index probe in the same process.
ALTER TABLE audit_changes DROP CONSTRAINT IF EXISTS audit_changes_event_id_fkey;
ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_actor_id_fkey;
ALTER TABLE state_transitions DROP CONSTRAINT IF EXISTS state_transitions_record_id_fkey;
ALTER TABLE state_transitions DROP CONSTRAINT IF EXISTS state_transitions_actor_id_fkey;
ALTER TABLE state_transitions DROP CONSTRAINT IF EXISTS state_transitions_event_id_fkey;
