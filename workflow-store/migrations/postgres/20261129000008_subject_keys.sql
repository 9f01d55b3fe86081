-- One data key per complaint, for the complainant's personal data (crypto-shredding):
-- the log holds the identity sealed with it; erasure deletes the row. Each key is kept
-- wrapped (encrypted) by a key-encryption key that is never in the database, named by
-- `kek_id`.
CREATE TABLE subject_keys
(
    complaint_id text NOT NULL PRIMARY KEY,
    key_id       text NOT NULL,
    kek_id       text NOT NULL,
    wrapped_key  text NOT NULL,
    created_at   text NOT NULL
);
