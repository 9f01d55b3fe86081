-- Every run of every SLA clock, running or ended, kept by the complaints projection in
-- the same batch as the views: the console's statistics read ranges of it by index
-- instead of every complaint's state (a step's runs ended in a month, of one agency;
-- the breaches by when they were recorded, of one agency). agency is the agency holding
-- the complaint. working_days (from the run's start to its end, less the days spent
-- waiting for the complainant) and late (its verdict, 1 or 0) are set once it has
-- ended. settled_on_time is 1 on the 60-day clock's run that ended when the complaint
-- was closed with no run late (but for breaches the coordinator annulled), else 0.
CREATE TABLE step_runs
(
    complaint_id       text   NOT NULL,
    step               text   NOT NULL,
    occurrence         integer NOT NULL,
    agency             text,
    started_at         text   NOT NULL,
    ended_at           text,
    working_days       integer,
    late               integer,
    breach_recorded_at text,
    breach_annulled_at text,
    settled_on_time    integer NOT NULL,
    PRIMARY KEY (complaint_id, step, occurrence)
);
CREATE INDEX step_runs_by_step_ended ON step_runs (step, ended_at, working_days, settled_on_time);
CREATE INDEX step_runs_by_agency_step_ended ON step_runs (agency, step, ended_at, working_days, settled_on_time);
CREATE INDEX step_runs_by_breach ON step_runs (breach_recorded_at);
CREATE INDEX step_runs_by_agency_breach ON step_runs (agency, breach_recorded_at);

CREATE TABLE step_runs_rebuild
(
    complaint_id       text   NOT NULL,
    step               text   NOT NULL,
    occurrence         integer NOT NULL,
    agency             text,
    started_at         text   NOT NULL,
    ended_at           text,
    working_days       integer,
    late               integer,
    breach_recorded_at text,
    breach_annulled_at text,
    settled_on_time    integer NOT NULL,
    PRIMARY KEY (complaint_id, step, occurrence)
);
CREATE INDEX step_runs_rebuild_by_step_ended ON step_runs_rebuild (step, ended_at, working_days, settled_on_time);
CREATE INDEX step_runs_rebuild_by_agency_step_ended ON step_runs_rebuild (agency, step, ended_at, working_days, settled_on_time);
CREATE INDEX step_runs_rebuild_by_breach ON step_runs_rebuild (breach_recorded_at);
CREATE INDEX step_runs_rebuild_by_agency_breach ON step_runs_rebuild (agency, breach_recorded_at);

-- One agency's board: its complaints by state (the BAs waiting for its head, its open
-- work) and its running duties by deadline, without reading the other agencies' rows.
CREATE INDEX complaint_views_by_agency_status ON complaint_views (agency, status, registered_at, complaint_id);
CREATE INDEX complaint_views_rebuild_by_agency_status ON complaint_views_rebuild (agency, status, registered_at, complaint_id);
CREATE INDEX sla_deadlines_by_agency_due ON sla_deadlines (agency, due_at, complaint_id, step);
CREATE INDEX sla_deadlines_rebuild_by_agency_due ON sla_deadlines_rebuild (agency, due_at, complaint_id, step);

-- The views are current already; going over the log again from the start fills in the
-- runs of complaints made before this table, and changes no view (each event at or
-- before a view's sequence is skipped there).
UPDATE projection_checkpoints SET position = 0 WHERE name = 'complaints';
