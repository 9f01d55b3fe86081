-- The public tracking page finds a complaint by its LAPOR!-SP4N tracking number
-- (views::public): an index instead of a scan of every view row. The rebuild twin has
-- the same index, as every view table's twin does.
CREATE INDEX complaint_views_by_lapor ON complaint_views (lapor_id);
CREATE INDEX complaint_views_rebuild_by_lapor ON complaint_views_rebuild (lapor_id);
