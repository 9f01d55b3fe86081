-- Notifications written by the outbox projection in the same transaction as its
-- checkpoint, and delivered at least once by a dispatcher. key is the idempotency key
-- every delivery carries (complaint, event sequence, notice, channel, recipient): the
-- same message is never enqueued twice, and a receiver drops a repeated delivery by it.
-- recipient is a person's user name, `complainant` or `webhook`; the address is looked
-- up when the message is delivered (a complainant's is opened with the complaint's key,
-- and that read is recorded). context is the JSON the templates are rendered with.
-- state: pending (waiting for next_attempt_at), sent, dead (attempts ran out). A
-- dispatcher claims a pending message by setting claimed_by and claimed_until; another
-- takes it only once that lease has lapsed.
CREATE TABLE outbox
(
    key             text    NOT NULL PRIMARY KEY,
    position        bigint  NOT NULL,
    complaint_id    text    NOT NULL,
    sequence        bigint  NOT NULL,
    notice          text    NOT NULL,
    channel         text    NOT NULL,
    recipient       text    NOT NULL,
    context         text    NOT NULL,
    state           text    NOT NULL,
    attempts        bigint  NOT NULL,
    next_attempt_at text    NOT NULL,
    claimed_by      text,
    claimed_until   text,
    last_error      text,
    created_at      text    NOT NULL,
    sent_at         text
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_by_position ON outbox (position);

-- The agency and liaison officer holding each complaint, as the outbox projection
-- knows them (from dispositions and reassignments), to address notices of later events.
CREATE TABLE outbox_assignments
(
    complaint_id text NOT NULL PRIMARY KEY,
    agency       text NOT NULL,
    liaison      text NOT NULL
);

CREATE TABLE outbox_assignments_rebuild
(
    complaint_id text NOT NULL PRIMARY KEY,
    agency       text NOT NULL,
    liaison      text NOT NULL
);

-- A database that already holds events starts its outbox at the log's head: history
-- calls for no notification now. The assignments are taken from the complaint views.
INSERT INTO projection_checkpoints (name, position)
SELECT 'outbox', COALESCE(MAX(position), 0) FROM events WHERE true
ON CONFLICT (name) DO NOTHING;
INSERT INTO outbox_assignments (complaint_id, agency, liaison)
SELECT complaint_id, agency, liaison_officer FROM complaint_views
WHERE agency IS NOT NULL AND liaison_officer IS NOT NULL;

-- The e-mail address notifications to a person are sent to (none: they get none).
ALTER TABLE people ADD COLUMN email text;
