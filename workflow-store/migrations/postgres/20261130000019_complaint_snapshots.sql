-- A complaint's state as of one of its events, so that loading a long history reads the
-- state and the events after it instead of every event. A cache, never the record: it is
-- used only while the event at `sequence` still carries `chain_head` and `format` is the
-- running version's, and it can be deleted at any time.
CREATE TABLE complaint_snapshots
(
    complaint_id text                        PRIMARY KEY,
    sequence     bigint CHECK (sequence > 0) NOT NULL,
    chain_head   text                        NOT NULL,
    format       text                        NOT NULL,
    state        text                        NOT NULL
);
-- Read whole at every load of a long history: kept out of line uncompressed, which
-- spares the decompression a compressed state would cost each read.
ALTER TABLE complaint_snapshots ALTER COLUMN state SET STORAGE EXTERNAL;
