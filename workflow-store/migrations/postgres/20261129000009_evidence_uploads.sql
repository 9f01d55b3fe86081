-- Who uploaded which blob, in which role and agency, and for which complaint if the
-- uploader named one: whom a blob may be handed out to before it is cited, and which
-- blobs a command may cite. A blob uploaded twice has a row per upload.
CREATE TABLE evidence_uploads
(
    sha256       text NOT NULL,
    user_name    text NOT NULL,
    role         text NOT NULL,
    agency       text,
    complaint_id text,
    uploaded_at  text NOT NULL
);
CREATE INDEX evidence_uploads_by_sha256 ON evidence_uploads (sha256, user_name);

-- Which complaints cite which blob, and as what (registration, information,
-- field_visit); kept by the complaints projection, in the same batch as the views.
CREATE TABLE evidence_citations
(
    sha256       text NOT NULL,
    complaint_id text NOT NULL,
    kind         text NOT NULL,
    PRIMARY KEY (sha256, complaint_id, kind)
);

CREATE TABLE evidence_citations_rebuild
(
    sha256       text NOT NULL,
    complaint_id text NOT NULL,
    kind         text NOT NULL,
    PRIMARY KEY (sha256, complaint_id, kind)
);

-- The complaint views are current already; going over the log again from the start
-- fills in the citations of complaints made before this table, and changes no view
-- (each event at or before a view's sequence is skipped there).
UPDATE projection_checkpoints SET position = 0 WHERE name = 'complaints';
