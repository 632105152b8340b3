-- A new record's text is indexed for search after its creation's transaction, not inside it:
-- creation notes the record in `records_fts_pending`, and `records::index_pending_search` indexes
-- every pending record in one transaction about once a second. With the text index written by
-- each group of creations, one creation in a hundred took 23-35 ms at 200,000 incidents instead
-- of 7 (BENCHMARKS.md, session 8). Searches read the pending records' text directly, so a record
-- is found from the moment it is stored.
CREATE TABLE records_fts_pending (record_id INTEGER PRIMARY KEY);

DROP TRIGGER records_fts_insert;
CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO records_fts_pending (record_id) VALUES (new.id);
END;

-- A pending record's text is read when it is indexed, so a change to it needs nothing here.
DROP TRIGGER records_fts_update;
CREATE TRIGGER records_fts_update AFTER UPDATE OF title, description ON records
WHEN (old.title IS NOT new.title OR old.description IS NOT new.description)
    AND NOT EXISTS (SELECT 1 FROM records_fts_pending WHERE record_id = old.id)
BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO records_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
