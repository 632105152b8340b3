-- The foundation: people and access, the shared record table, the audit trail, comments, links,
-- attachments and full-text search. Kept in lock-step with ../postgres/0001_foundation.sql.
-- Instants are microseconds since the Unix epoch (UTC) in 64-bit integers on both databases.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('provider', 'customer', 'supplier')),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX organizations_one_provider ON organizations (kind) WHERE kind = 'provider';

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    role TEXT NOT NULL,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_organization ON users (organization_id);

CREATE TABLE assignment_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES assignment_groups (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    number INTEGER NOT NULL,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    assignment_group_id INTEGER REFERENCES assignment_groups (id),
    assignee_id INTEGER REFERENCES users (id),
    service_id INTEGER REFERENCES records (id),
    configuration_item_id INTEGER REFERENCES records (id),
    requester_id INTEGER REFERENCES users (id),
    details TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id),
    UNIQUE (kind, number)
);
-- Keyset pagination walks (sort column, id) inside one kind; the filtered variants serve the queue's
-- most common filters without scanning other rows.
CREATE INDEX records_kind_updated ON records (kind, updated_at, id);
CREATE INDEX records_kind_created ON records (kind, created_at, id);
CREATE INDEX records_kind_priority ON records (kind, priority, id);
CREATE INDEX records_kind_state_updated ON records (kind, state, updated_at, id);
CREATE INDEX records_kind_org_updated ON records (kind, organization_id, updated_at, id);
CREATE INDEX records_kind_group_updated ON records (kind, assignment_group_id, updated_at, id);
CREATE INDEX records_kind_assignee_updated ON records (kind, assignee_id, updated_at, id);
CREATE INDEX records_kind_service_updated ON records (kind, service_id, updated_at, id);

CREATE VIRTUAL TABLE records_fts USING fts5 (
    title, description,
    content = 'records', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO records_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER records_fts_update AFTER UPDATE OF title, description ON records BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO records_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;

-- One event per change of anything; the field-level changes and state transitions beside it are rows,
-- so history questions ("priority at 10:00", "entered resolved in May") are answered set-wise.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    at INTEGER NOT NULL,
    request_id TEXT,
    summary TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_subject ON audit_events (subject_type, subject_id, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE audit_changes (
    event_id INTEGER NOT NULL REFERENCES audit_events (id),
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (event_id, field)
);
CREATE INDEX audit_changes_subject_field ON audit_changes (subject_type, subject_id, field, at);

CREATE TABLE state_transitions (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records (id),
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    event_id INTEGER NOT NULL REFERENCES audit_events (id)
);
CREATE INDEX state_transitions_record ON state_transitions (record_id, at);
CREATE INDEX state_transitions_kind_state_at ON state_transitions (kind, to_state, at);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records (id),
    author_id INTEGER REFERENCES users (id),
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_record ON comments (record_id, id);

CREATE TABLE record_links (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES records (id),
    target_id INTEGER NOT NULL REFERENCES records (id),
    link_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id),
    UNIQUE (source_id, target_id, link_type)
);
CREATE INDEX record_links_target ON record_links (target_id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id)
);
CREATE INDEX attachments_record ON attachments (record_id, id);
