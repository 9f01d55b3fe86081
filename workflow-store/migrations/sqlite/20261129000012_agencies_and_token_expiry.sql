-- The agencies the operator registered (`aduan agency add`): the codes a token may
-- name and a complaint may be disposed to, with what a letterhead needs. A retired
-- agency stays for the records that name it and takes no new token or complaint.
CREATE TABLE agencies
(
    code       text NOT NULL PRIMARY KEY,
    name       text NOT NULL,
    address    text,
    time_zone  text,
    head_name  text,
    head_nip   text,
    created_at text NOT NULL,
    updated_at text NOT NULL,
    retired_at text
);

-- When a token stops being accepted (NULL: never), and when it was last accepted
-- (written at most once a minute per token).
ALTER TABLE api_tokens ADD COLUMN expires_at text;
ALTER TABLE api_tokens ADD COLUMN last_used_at text;

-- An installation made before the registry keeps working: every well-formed code that
-- a token, a complaint, a clock, the timeline or an upload already names is registered,
-- named by its code until the operator names it (`aduan agency update`).
INSERT INTO agencies (code, name, created_at, updated_at)
SELECT code, code, strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now'), strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now')
FROM (SELECT agency AS code FROM api_tokens
      UNION SELECT agency FROM complaint_views
      UNION SELECT agency FROM sla_deadlines
      UNION SELECT agency FROM audit_timeline
      UNION SELECT agency FROM evidence_uploads)
WHERE code IS NOT NULL
  AND length(code) BETWEEN 1 AND 32
  AND code NOT GLOB '*[^A-Z0-9]*';
