-- The search index is rewritten only when a record's title or description really changed. Every
-- update writes all of a record's columns, and `AFTER UPDATE OF title, description` fires for
-- columns that were written, not for columns that changed: a state change re-indexed the text.
-- (PostgreSQL derives its search column from the row and needs no counterpart.)
DROP TRIGGER records_fts_update;
CREATE TRIGGER records_fts_update AFTER UPDATE OF title, description ON records
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
BEGIN
    INSERT INTO records_fts (records_fts, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO records_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
