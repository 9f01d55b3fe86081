-- The complaint views' states (a few kilobytes of JSON each, written back by every batch
-- of the projector and once per complaint by a replay) are compressed with lz4 instead
-- of pglz: pglz was most of what the database spent writing a replay's view rows (a
-- third of a second against a second for 20,000 states), and lz4 also reads back
-- faster. Only new values are written with it; nothing is rewritten now. A server built
-- without lz4 keeps pglz.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE complaint_views ALTER COLUMN state SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE complaint_views_rebuild ALTER COLUMN state SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the complaint views keep pglz';
END
$$;
