-- Service level management: SLA clocks derived from record histories, the warnings and breaches they
-- raised, and an outbox of events for notifications. Kept in lock-step with
-- ../postgres/0002_service_levels.sql.

-- Why a record waits (such as `awaiting_caller`), kept with the transition so clocks can be replayed
-- from this table alone. Earlier transitions get it from the audit trail.
ALTER TABLE state_transitions ADD COLUMN reason TEXT;
UPDATE state_transitions SET reason = (
    SELECT trim(c.new_value, '"') FROM audit_changes c
    WHERE c.event_id = state_transitions.event_id AND c.field = 'on_hold_reason'
) WHERE to_state = 'on_hold';

-- The clock a queue shows for a record (the one due soonest), derived from sla_clocks, so that queues
-- sort by due time on an index. Not audited: it is recomputed, never entered.
ALTER TABLE records ADD COLUMN sla_status TEXT;
ALTER TABLE records ADD COLUMN sla_due_at INTEGER;
ALTER TABLE records ADD COLUMN sla_warn_at INTEGER;
CREATE INDEX records_kind_sla_due ON records (kind, (COALESCE(sla_due_at, 9223372036854775807)), id);

-- One row per record and applicable target: the replayed clock, replaced whenever it is recomputed.
CREATE TABLE sla_clocks (
    record_id INTEGER NOT NULL REFERENCES records (id),
    agreement_id INTEGER NOT NULL REFERENCES records (id),
    target_key TEXT NOT NULL,
    agreement_type TEXT NOT NULL,
    metric TEXT NOT NULL,
    target_name TEXT NOT NULL,
    calendar_id INTEGER REFERENCES records (id),
    status TEXT NOT NULL,
    target_micros INTEGER NOT NULL,
    elapsed_micros INTEGER NOT NULL,
    started_at INTEGER,
    stopped_at INTEGER,
    due_at INTEGER,
    -- When the background job should next look at this clock (a warning or the breach falls due).
    next_notice_at INTEGER,
    reason TEXT NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (record_id, agreement_id, target_key)
);
CREATE INDEX sla_clocks_next_notice ON sla_clocks (next_notice_at) WHERE next_notice_at IS NOT NULL;
CREATE INDEX sla_clocks_agreement ON sla_clocks (agreement_id, status);

-- Each warning and breach, recorded once per clock run: the key makes a second job that finds the
-- same threshold insert nothing.
CREATE TABLE sla_notices (
    record_id INTEGER NOT NULL REFERENCES records (id),
    agreement_id INTEGER NOT NULL REFERENCES records (id),
    target_key TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    percent INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    event_id INTEGER REFERENCES audit_events (id),
    PRIMARY KEY (record_id, agreement_id, target_key, started_at, percent)
);

-- Bumped by every change to a calendar or an agreement, in the same transaction, so each node can tell
-- with one primary-key read whether the agreements and calendars it has cached are still current.
CREATE TABLE sla_config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO sla_config_version (id, version) VALUES (1, 0);

-- Events for notifications and webhooks, written in the transaction that caused them.
CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    record_id INTEGER REFERENCES records (id),
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX outbox_events_undelivered ON outbox_events (id) WHERE delivered_at IS NULL;
