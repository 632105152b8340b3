-- A search covers the text fields a kind declares `searched` (an incident's resolution notes)
-- besides the title and description. Every write keeps their text in `search_text`
-- (`records::write`); `search::ensure_search_text` rewrites it when the declarations change,
-- remembering in `declared_search` which fields each kind's text was made of. Kept in lock-step
-- with ../sqlite/0009_search_covers_declared_fields.sql.
ALTER TABLE records ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE TABLE declared_search (
    kind TEXT PRIMARY KEY,
    fields TEXT NOT NULL
);

-- A generated column's expression cannot be altered: it is made again (with its index, and the
-- small pending list of 0009).
DROP INDEX records_search;
ALTER TABLE records DROP COLUMN search;
ALTER TABLE records ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', title || ' ' || description || ' ' || search_text)
) STORED;
CREATE INDEX records_search ON records USING GIN (search) WITH (gin_pending_list_limit = 512);
