-- Nothing changes here. On SQLite the engine now numbers the rows it appends in its own
-- INSERT; on PostgreSQL every row is still numbered by its trigger, which takes the
-- advisory lock first so that positions follow commit order (see the log's first
-- migration). The file keeps the two dialects' versions in step.
SELECT 1;
