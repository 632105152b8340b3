-- The full-text index takes new entries into a pending list first, and the creation that finds the
-- list over its limit (4 MB by default) merges all of it into the index before it commits. At
-- 1,000,000 incidents that merge made single creations wait 77-363 ms, and one in a hundred over
-- 20 ms in half the runs (1,996-2,730/s over six runs). With a 512 kB list each merge is an eighth
-- of the work: 3,351/s, p99 10.2 ms, longest 25 ms in the same bench.
ALTER INDEX records_search SET (gin_pending_list_limit = 512);
