-- Whether an upload was marked personal (an ID scan): then the blob store keeps it sealed
-- with the data key of the complaint the upload names, not in clear, and only that
-- complaint may cite it. 1 for personal, 0 otherwise.
ALTER TABLE evidence_uploads ADD COLUMN personal integer NOT NULL DEFAULT 0;
