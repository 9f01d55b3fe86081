-- The audit walk reads complaints in byte order of their ids (the order a checkpoint's
-- heads are sorted in, whatever the database's collation).
CREATE INDEX IF NOT EXISTS events_audit_order ON events (aggregate_type, aggregate_id COLLATE "C", sequence);
