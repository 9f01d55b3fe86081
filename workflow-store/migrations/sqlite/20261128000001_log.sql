-- The event log: the table sqlite-es reads and writes, plus our columns.
CREATE TABLE IF NOT EXISTS events
(
  aggregate_type text                          NOT NULL,
  aggregate_id   text                          NOT NULL,
  sequence       integer CHECK (sequence >= 0) NOT NULL,
  event_type     text                          NOT NULL,
  event_version  text                          NOT NULL,
  payload        text                          NOT NULL,
  metadata       text                          NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

-- Global position and the time the database recorded the event. SQLite has one writer
-- at a time, so numbering inside the inserting transaction gives commit order.
ALTER TABLE events ADD COLUMN position integer;
ALTER TABLE events ADD COLUMN recorded_at text;
CREATE UNIQUE INDEX events_by_position ON events (position);

CREATE TRIGGER events_number AFTER INSERT ON events
BEGIN
  UPDATE events
     SET position = (SELECT COALESCE(MAX(position), 0) + 1 FROM events),
         recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
   WHERE rowid = NEW.rowid;
END;

-- The log is append-only for the engine. (Someone with the file can drop these; the hash
-- chain is what proves the log untouched.)
CREATE TRIGGER events_immutable BEFORE UPDATE OF aggregate_type, aggregate_id, sequence,
  event_type, event_version, payload, metadata ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TABLE settings
(
  key   text PRIMARY KEY,
  value text NOT NULL
) STRICT;
