-- The SLA board orders by (due_at, complaint_id, step): an index in that order lets a
-- first page stop after its rows even when many duties share one deadline (found by the
-- benchmark: "at risk now, first 100" read every duty due at the same instant).
CREATE INDEX sla_deadlines_by_due_order ON sla_deadlines (due_at, complaint_id, step);
CREATE INDEX sla_deadlines_rebuild_by_due_order ON sla_deadlines_rebuild (due_at, complaint_id, step);
