-- The engine numbers the rows it appends in its own INSERT (the log's highest position
-- plus one, under SQLite's single writer, as before): the numbering trigger now only
-- numbers rows inserted without a position (by other writers), instead of updating
-- every row the moment after it was written, which wrote the row and its indexes twice.
DROP TRIGGER events_number;
CREATE TRIGGER events_number AFTER INSERT ON events WHEN NEW.position IS NULL
BEGIN
  UPDATE events
     SET position = (SELECT COALESCE(MAX(position), 0) + 1 FROM events),
         recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
   WHERE rowid = NEW.rowid;
END;
