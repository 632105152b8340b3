-- Agent queues: open records of one assignment group (or one assignee) by priority. Without these,
-- the list read every record of the group and sorted it (424 ms at 1,000,000 incidents on SQLite);
-- with them a page is an index range whose closed records are skipped.
CREATE INDEX records_kind_group_priority ON records (kind, assignment_group_id, priority, id);
CREATE INDEX records_kind_assignee_priority ON records (kind, assignee_id, priority, id);
