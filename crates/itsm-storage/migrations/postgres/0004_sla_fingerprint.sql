-- What the last replay of a record's clocks wrote, kept on the record so that recomputing every
-- open clock reads neither the clock rows (they were four fifths of what a batch read) nor needs
-- to delete by record (a join whose plan depends on statistics a long recomputation outdates):
--   sla_fingerprint: a digest of the clocks and queue clock the replay computed; a replay that
--     computes the same digest has nothing to write. NULL until the next replay.
--   sla_clock_keys: the (agreement, target key) of each stored clock, as a JSON array, so that
--     clocks whose target no longer applies are deleted by their primary key.
ALTER TABLE records ADD COLUMN sla_fingerprint BIGINT;
ALTER TABLE records ADD COLUMN sla_clock_keys TEXT;
UPDATE records r SET sla_clock_keys = k.keys
FROM (SELECT record_id, CAST(json_agg(json_build_array(agreement_id, target_key)) AS TEXT) AS keys
      FROM sla_clocks GROUP BY record_id) k
WHERE r.id = k.record_id;
