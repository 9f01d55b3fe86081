-- Bearer tokens, stored as SHA-256 of the token; the token itself is shown once.
CREATE TABLE api_tokens
(
    token_hash text PRIMARY KEY,
    user_name  text NOT NULL,
    role       text NOT NULL,
    agency     text,
    created_at text NOT NULL,
    revoked_at text
);

-- Every read of a complainant's hidden identity (anonymous or confidential reports).
CREATE TABLE identity_reads
(
    read_at      text NOT NULL,
    user_name    text NOT NULL,
    role         text NOT NULL,
    complaint_id text NOT NULL,
    via          text NOT NULL
);
CREATE INDEX identity_reads_by_complaint ON identity_reads (complaint_id, read_at);

-- The first answer to each idempotency key, per user, returned again on a retry.
CREATE TABLE idempotency_keys
(
    user_name    text NOT NULL,
    idem_key     text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    response     text NOT NULL,
    created_at   text NOT NULL,
    PRIMARY KEY (user_name, idem_key)
);
