-- The operator's settings that judge deadlines, with their history: each change of the
-- holiday table amendment (`calendar`, its CSV text) or of the SLA policy (`policy`, its
-- JSON) is a row, numbered 1, 2, 3… per kind, with the fingerprint that verdicts cite
-- (`judged_by`), who made it, when, and why. The newest row of a kind is the one in
-- force; with none, the shipped holiday table and the default policy apply. Rows are
-- only ever added.
CREATE TABLE settings_history
(
    kind        text    NOT NULL CHECK (kind IN ('calendar', 'policy')),
    version     integer NOT NULL CHECK (version > 0),
    content     text    NOT NULL,
    fingerprint text    NOT NULL,
    changed_by  text    NOT NULL,
    changed_at  text    NOT NULL,
    note        text,
    PRIMARY KEY (kind, version)
);

CREATE TRIGGER settings_history_immutable BEFORE UPDATE ON settings_history
BEGIN
    SELECT RAISE(ABORT, 'the settings history is append-only');
END;
CREATE TRIGGER settings_history_no_delete BEFORE DELETE ON settings_history
BEGIN
    SELECT RAISE(ABORT, 'the settings history is append-only');
END;
