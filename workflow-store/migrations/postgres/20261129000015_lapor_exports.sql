-- The batches of follow-ups sent back to LAPOR!-SP4N (`aduan export lapor`): each batch
-- covers the log's positions after_position < p <= through_position, so that every
-- follow-up is in exactly one batch. A second export started at the same time finds
-- the unique after_position taken and is refused rather than sending the same
-- follow-ups twice. A batch is kept so that its file can be written again (--batch N).
CREATE TABLE lapor_exports
(
    batch            bigint  NOT NULL PRIMARY KEY,
    after_position   bigint NOT NULL,
    through_position bigint  NOT NULL,
    since            text,
    made_at          text    NOT NULL,
    made_by          text    NOT NULL,
    follow_ups       bigint  NOT NULL
);
CREATE UNIQUE INDEX lapor_exports_by_start ON lapor_exports (after_position);
