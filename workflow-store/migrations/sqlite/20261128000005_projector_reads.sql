-- Projectors read `WHERE aggregate_type = ? AND position > ? ORDER BY position`: without
-- this index the planner takes the primary key for the equality and sorts the whole
-- log for every batch (found by the benchmark: rebuilds slowed as the log grew).
CREATE INDEX events_by_type_position ON events (aggregate_type, position);
