-- A search covers the text fields a kind declares `searched` (an incident's resolution notes)
-- besides the title and description. Every write keeps their text in `search_text`
-- (`records::write`); `search::ensure_search_text` rewrites it when the declarations change,
-- remembering in `declared_search` which fields each kind's text was made of.
ALTER TABLE records ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE TABLE declared_search (
    kind TEXT PRIMARY KEY,
    fields TEXT NOT NULL
);

-- An FTS5 table cannot take a column: it is made again with the new one, and rebuilt from the
-- records, the pending ones included.
DROP TRIGGER records_fts_update;
DROP TABLE records_fts;
CREATE VIRTUAL TABLE records_fts USING fts5 (
    title, description, search_text,
    content = 'records', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO records_fts (records_fts) VALUES ('rebuild');
DELETE FROM records_fts_pending;

-- As in 0006: a pending record's text is read when it is indexed.
CREATE TRIGGER records_fts_update AFTER UPDATE OF title, description, search_text ON records
WHEN (old.title IS NOT new.title OR old.description IS NOT new.description
        OR old.search_text IS NOT new.search_text)
    AND NOT EXISTS (SELECT 1 FROM records_fts_pending WHERE record_id = old.id)
BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, description, search_text)
        VALUES ('delete', old.id, old.title, old.description, old.search_text);
    INSERT INTO records_fts (rowid, title, description, search_text)
        VALUES (new.id, new.title, new.description, new.search_text);
END;
