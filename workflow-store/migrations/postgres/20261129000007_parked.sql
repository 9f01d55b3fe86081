-- A complaint a projection set aside because one of its events cannot be read (a
-- payload no upcaster understands): the projection goes on with every other complaint
-- and skips this one's events until an operator resumes it, after a fix.
CREATE TABLE projection_parked
(
    projection   text    NOT NULL,
    complaint_id text    NOT NULL,
    position     bigint  NOT NULL,
    sequence     integer NOT NULL,
    reason       text    NOT NULL,
    parked_at    text    NOT NULL,
    PRIMARY KEY (projection, complaint_id)
);
