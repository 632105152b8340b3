-- A walk finds a page's ids by an index-only scan (migration 0007), which reads the table only for
-- pages the visibility map does not mark all-visible. Every change to a record clears its page's
-- mark until the next vacuum, and by default autovacuum waits for a fifth of the table to change
-- (200,000 records at 1,000,000). After the SLA job's first runs had changed about 8,000 records
-- all over the table, the walks read the table again: new incidents of one group by due instant,
-- p50 10 -> 22 ms, until a vacuum. So vacuum after one record in a hundred has changed or been
-- added, which brings the marks back within minutes. (The insert threshold needs PostgreSQL 13.)
ALTER TABLE records SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);
