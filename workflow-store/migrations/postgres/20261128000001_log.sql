-- The event log: the table postgres-es reads and writes, plus our columns.
CREATE TABLE IF NOT EXISTS events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- Global position in commit order: every appending transaction takes the same
-- transaction-level advisory lock before it numbers its rows, so positions are handed
-- out in the order transactions commit, and a reader that sees position N will never
-- later see a smaller one commit. Notifications wake projectors on other hosts.
CREATE SEQUENCE IF NOT EXISTS events_position_seq;
ALTER TABLE events ADD COLUMN IF NOT EXISTS position bigint;
ALTER TABLE events ADD COLUMN IF NOT EXISTS recorded_at text;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON events (position);

CREATE OR REPLACE FUNCTION aduan_events_number() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(727274262);
    NEW.position := nextval('events_position_seq');
    NEW.recorded_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
    PERFORM pg_notify('aduan_events', NEW.position::text);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_number BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION aduan_events_number();

CREATE OR REPLACE FUNCTION aduan_events_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_immutable BEFORE UPDATE OF aggregate_type, aggregate_id, sequence,
    event_type, event_version, payload, metadata ON events
    FOR EACH ROW EXECUTE FUNCTION aduan_events_immutable();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION aduan_events_immutable();

CREATE TABLE settings
(
    key   text PRIMARY KEY,
    value text NOT NULL
);
