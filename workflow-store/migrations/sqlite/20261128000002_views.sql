-- Projections: a checkpoint per projection, and the read views they maintain. Each view
-- table has a twin "_rebuild" table that a replay fills before switching over.
CREATE TABLE projection_checkpoints
(
    name          text PRIMARY KEY,
    position      integer NOT NULL DEFAULT 0,
    updated_at    text,
    last_error    text,
    last_error_at text
);

CREATE TABLE complaint_views
(
    complaint_id    text PRIMARY KEY,
    lapor_id        text    NOT NULL,
    title           text    NOT NULL,
    category        text    NOT NULL,
    status          text    NOT NULL,
    agency          text,
    liaison_officer text,
    confidentiality text    NOT NULL,
    registered_at   text    NOT NULL,
    updated_at      text    NOT NULL,
    sequence        integer NOT NULL,
    position        integer NOT NULL,
    state           text    NOT NULL
);
CREATE INDEX complaint_views_by_registered ON complaint_views (registered_at, complaint_id);
CREATE INDEX complaint_views_by_status ON complaint_views (status, registered_at, complaint_id);
CREATE INDEX complaint_views_by_agency ON complaint_views (agency, registered_at, complaint_id);
CREATE INDEX complaint_views_by_officer ON complaint_views (liaison_officer, registered_at, complaint_id);

-- One row per running SLA clock; due_at is NULL while the clock is paused.
CREATE TABLE sla_deadlines
(
    complaint_id    text    NOT NULL,
    step            text    NOT NULL,
    occurrence      integer NOT NULL,
    agency          text,
    started_at      text    NOT NULL,
    due_at          text,
    at_risk_from    text,
    ended_at        text,
    breachable      integer NOT NULL,
    breach_recorded integer NOT NULL,
    PRIMARY KEY (complaint_id, step, occurrence)
);
CREATE INDEX sla_deadlines_by_due ON sla_deadlines (due_at);
CREATE INDEX sla_deadlines_by_at_risk ON sla_deadlines (at_risk_from);

CREATE TABLE audit_timeline
(
    position     integer PRIMARY KEY,
    complaint_id text    NOT NULL,
    sequence     integer NOT NULL,
    at           text    NOT NULL,
    recorded_at  text    NOT NULL,
    actor        text    NOT NULL,
    role         text    NOT NULL,
    agency       text,
    event_type   text    NOT NULL,
    command_id   text    NOT NULL
);
CREATE INDEX audit_timeline_by_complaint ON audit_timeline (complaint_id, sequence);
CREATE INDEX audit_timeline_by_actor ON audit_timeline (actor, at);

CREATE TABLE complaint_views_rebuild
(
    complaint_id    text PRIMARY KEY,
    lapor_id        text    NOT NULL,
    title           text    NOT NULL,
    category        text    NOT NULL,
    status          text    NOT NULL,
    agency          text,
    liaison_officer text,
    confidentiality text    NOT NULL,
    registered_at   text    NOT NULL,
    updated_at      text    NOT NULL,
    sequence        integer NOT NULL,
    position        integer NOT NULL,
    state           text    NOT NULL
);
CREATE INDEX complaint_views_rebuild_by_registered ON complaint_views_rebuild (registered_at, complaint_id);
CREATE INDEX complaint_views_rebuild_by_status ON complaint_views_rebuild (status, registered_at, complaint_id);
CREATE INDEX complaint_views_rebuild_by_agency ON complaint_views_rebuild (agency, registered_at, complaint_id);
CREATE INDEX complaint_views_rebuild_by_officer ON complaint_views_rebuild (liaison_officer, registered_at, complaint_id);

-- One row per running SLA clock; due_at is NULL while the clock is paused.
CREATE TABLE sla_deadlines_rebuild
(
    complaint_id    text    NOT NULL,
    step            text    NOT NULL,
    occurrence      integer NOT NULL,
    agency          text,
    started_at      text    NOT NULL,
    due_at          text,
    at_risk_from    text,
    ended_at        text,
    breachable      integer NOT NULL,
    breach_recorded integer NOT NULL,
    PRIMARY KEY (complaint_id, step, occurrence)
);
CREATE INDEX sla_deadlines_rebuild_by_due ON sla_deadlines_rebuild (due_at);
CREATE INDEX sla_deadlines_rebuild_by_at_risk ON sla_deadlines_rebuild (at_risk_from);

CREATE TABLE audit_timeline_rebuild
(
    position     integer PRIMARY KEY,
    complaint_id text    NOT NULL,
    sequence     integer NOT NULL,
    at           text    NOT NULL,
    recorded_at  text    NOT NULL,
    actor        text    NOT NULL,
    role         text    NOT NULL,
    agency       text,
    event_type   text    NOT NULL,
    command_id   text    NOT NULL
);
CREATE INDEX audit_timeline_rebuild_by_complaint ON audit_timeline_rebuild (complaint_id, sequence);
CREATE INDEX audit_timeline_rebuild_by_actor ON audit_timeline_rebuild (actor, at);
