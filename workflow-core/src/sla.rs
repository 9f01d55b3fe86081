//! Service levels: which clock runs for which SOP step, when it is due, and its status.
//!
//! Everything here is a pure function of the complaint's clocks (kept in its state by
//! [`SlaTimeline`], built from events), the [`WorkingCalendar`], the [`SlaPolicy`] and an
//! instant `now` passed in. Change the calendar and the same call recomputes every
//! deadline still running.
//!
//! A deadline is the end (23:59:59 local time) of a due date. In working-day mode the due
//! date is the N-th working day after the day the step started; time spent waiting for
//! the complainant adds the working days it covered (each day in `(pause start date,
//! resume date]`). An open pause keeps extending the deadline, so a deadline never moves
//! earlier as time passes.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkingCalendar;

mod policy;
pub use policy::{CountsFrom, DayCount, SlaPolicy, StepRule};

/// The clocks the SOP and the national rules run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// SOP step 1: UPP disposes the complaint to an agency's liaison officer.
    Disposition,
    /// SOP step 2: the liaison officer reviews, confirms and clarifies.
    Review,
    /// SOP step 3: field verification, documentation and the BA.
    FieldVerification,
    /// The response to the complainant after the clarification or the BA.
    Response,
    /// The complainant's feedback window after the response; when it runs out the
    /// complaint may be closed automatically. A window, not a duty: never breached.
    Feedback,
    /// Perpres 76/2013: settled within 60 days of the file being complete.
    Overall,
    /// The complainant's window to answer an information request (UU 25/2009 Pasal 50
    /// as commonly cited: 30 days); when it runs out the complaint counts as withdrawn.
    /// A window, not a duty: never breached.
    InformationWait,
    /// LAPOR!-SP4N's follow-up clock: from a disposition to the agency's first progress
    /// update or response (5 working days), beside the SOP's step clocks.
    FollowUp,
}

impl Step {
    /// Every step, in SOP order.
    pub const ALL: [Step; 8] = [
        Step::Disposition,
        Step::Review,
        Step::FieldVerification,
        Step::Response,
        Step::Feedback,
        Step::Overall,
        Step::InformationWait,
        Step::FollowUp,
    ];

    /// The step's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Disposition => "disposition",
            Step::Review => "review",
            Step::FieldVerification => "field_verification",
            Step::Response => "response",
            Step::Feedback => "feedback",
            Step::Overall => "overall",
            Step::InformationWait => "information_wait",
            Step::FollowUp => "follow_up",
        }
    }

    /// Whether running past the deadline is a breach (everything but the complainant's
    /// windows: feedback and the information wait).
    pub fn is_breachable(self) -> bool {
        !matches!(self, Step::Feedback | Step::InformationWait)
    }

    /// Whether waiting for the complainant stops this clock (the overall cap runs on,
    /// and the information wait is that waiting).
    pub fn pauses_for_complainant(self) -> bool {
        !matches!(self, Step::Overall | Step::InformationWait)
    }
}

impl std::str::FromStr for Step {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| format!("unknown step `{s}`"))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which holiday table and policy judged a deadline (their fingerprints:
/// [`crate::calendar::HolidayTable::version`] and [`SlaPolicy::version`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JudgedBy {
    /// The holiday table's version.
    pub calendar: String,
    /// The policy's version.
    pub policy: String,
}

impl JudgedBy {
    /// The versions of a calendar and a policy.
    pub fn of(calendar: &WorkingCalendar, policy: &SlaPolicy) -> Self {
        Self {
            calendar: calendar.table().version(),
            policy: policy.version(),
        }
    }
}

/// The verdict on a clock run, fixed when the run ended: recorded in the event that
/// ended it, so that a later change of the holiday table or the policy leaves it as it
/// was, and an auditor can recompute it from the log and the versions it cites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// Which step.
    pub step: Step,
    /// Which run of it.
    pub occurrence: u32,
    /// The last local date in time.
    pub due_date: NaiveDate,
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// Days added for waiting on the complainant.
    pub paused_days: u32,
    /// Whether the run ended after its deadline (never for a window).
    pub late: bool,
    /// The holiday table and policy that judged it.
    pub judged_by: JudgedBy,
}

/// A stretch of time waiting for the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// When the information was requested.
    pub from: DateTime<Utc>,
    /// When it was provided; `None` while still waiting.
    pub until: Option<DateTime<Utc>>,
}

/// One run of one step's clock. A step runs again after a re-disposition, so each run
/// has an occurrence number (1, 2, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepClock {
    /// Which step.
    pub step: Step,
    /// Which run of it, from 1.
    pub occurrence: u32,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// When the step was completed (or abandoned); `None` while running.
    pub ended_at: Option<DateTime<Utc>>,
    /// Waits for the complainant during this run.
    pub pauses: Vec<Pause>,
    /// When a breach of this run was recorded, if it was.
    pub breach_recorded_at: Option<DateTime<Utc>>,
    /// When the coordinator annulled that breach, if they did (it stays in history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_annulled_at: Option<DateTime<Utc>>,
    /// For the first run of step 1: when the report arrived in LAPOR!, which the
    /// policy may count from instead of `started_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
    /// The verdict fixed when the run ended; `None` while running (and for runs that
    /// ended before verdicts were recorded, which are judged as running ones are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// All clocks of one complaint, in the order they started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTimeline {
    /// The complaint's category (selects category rules).
    pub category: String,
    /// Every clock run.
    pub clocks: Vec<StepClock>,
}

impl SlaTimeline {
    /// Starts a new run of `step`.
    pub fn start(&mut self, step: Step, at: DateTime<Utc>) {
        let occurrence = self.clocks.iter().filter(|c| c.step == step).count() as u32 + 1;
        self.clocks.push(StepClock {
            step,
            occurrence,
            started_at: at,
            ended_at: None,
            pauses: Vec::new(),
            breach_recorded_at: None,
            breach_annulled_at: None,
            reported_at: None,
            verdict: None,
        });
    }

    /// Starts the first run of step 1, which may count from the report's arrival in
    /// LAPOR!.
    pub fn start_reported(&mut self, step: Step, at: DateTime<Utc>, reported_at: DateTime<Utc>) {
        self.start(step, at);
        if let Some(clock) = self.clocks.last_mut() {
            clock.reported_at = Some(reported_at);
        }
    }

    /// Fixes the verdict of an ended run.
    pub fn record_verdict(&mut self, verdict: &Verdict) {
        if let Some(clock) = self
            .clocks
            .iter_mut()
            .find(|c| c.step == verdict.step && c.occurrence == verdict.occurrence)
        {
            clock.verdict.get_or_insert_with(|| verdict.clone());
        }
    }

    /// Marks a run's recorded breach as annulled.
    pub fn annul_breach(&mut self, step: Step, occurrence: u32, at: DateTime<Utc>) {
        if let Some(clock) = self
            .clocks
            .iter_mut()
            .find(|c| c.step == step && c.occurrence == occurrence)
        {
            clock.breach_annulled_at.get_or_insert(at);
        }
    }

    /// The run `occurrence` of `step`.
    pub fn run(&self, step: Step, occurrence: u32) -> Option<&StepClock> {
        self.clocks
            .iter()
            .find(|c| c.step == step && c.occurrence == occurrence)
    }

    /// Ends the running run of `step`, if one runs.
    pub fn end(&mut self, step: Step, at: DateTime<Utc>) {
        if let Some(clock) = self.running_mut(step) {
            clock.ended_at = Some(at);
            for pause in &mut clock.pauses {
                pause.until.get_or_insert(at);
            }
        }
    }

    /// Ends every running clock (the complaint left the workflow).
    pub fn end_all(&mut self, at: DateTime<Utc>) {
        for clock in self.clocks.iter_mut().filter(|c| c.ended_at.is_none()) {
            clock.ended_at = Some(at);
            for pause in &mut clock.pauses {
                pause.until.get_or_insert(at);
            }
        }
    }

    /// Pauses every running clock that waits for the complainant.
    pub fn pause(&mut self, at: DateTime<Utc>) {
        for clock in self.clocks.iter_mut().filter(|c| c.ended_at.is_none()) {
            if clock.step.pauses_for_complainant() && clock.pauses.iter().all(|p| p.until.is_some())
            {
                clock.pauses.push(Pause {
                    from: at,
                    until: None,
                });
            }
        }
    }

    /// Resumes every paused clock.
    pub fn resume(&mut self, at: DateTime<Utc>) {
        for clock in self.clocks.iter_mut().filter(|c| c.ended_at.is_none()) {
            for pause in clock.pauses.iter_mut().filter(|p| p.until.is_none()) {
                pause.until = Some(at);
            }
        }
    }

    /// Marks a run as breached.
    pub fn record_breach(&mut self, step: Step, occurrence: u32, at: DateTime<Utc>) {
        if let Some(clock) = self
            .clocks
            .iter_mut()
            .find(|c| c.step == step && c.occurrence == occurrence)
        {
            clock.breach_recorded_at.get_or_insert(at);
        }
    }

    /// The latest run of `step`.
    pub fn latest(&self, step: Step) -> Option<&StepClock> {
        self.clocks.iter().rev().find(|c| c.step == step)
    }

    /// Whether a run of `step` is running now.
    pub fn is_running(&self, step: Step) -> bool {
        self.latest(step).is_some_and(|c| c.ended_at.is_none())
    }

    fn running_mut(&mut self, step: Step) -> Option<&mut StepClock> {
        self.clocks
            .iter_mut()
            .rev()
            .find(|c| c.step == step && c.ended_at.is_none())
    }
}

/// Where a clock stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Running, more than the at-risk margin left.
    OnTrack,
    /// Running, due within the at-risk margin.
    AtRisk,
    /// Running past its deadline.
    Breached,
    /// Stopped while the complaint waits for the complainant.
    Paused,
    /// Completed (see `late` for whether it was in time).
    Done,
    /// A window (the feedback window) has run out.
    Elapsed,
}

impl StepStatus {
    /// The status's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::OnTrack => "on_track",
            StepStatus::AtRisk => "at_risk",
            StepStatus::Breached => "breached",
            StepStatus::Paused => "paused",
            StepStatus::Done => "done",
            StepStatus::Elapsed => "elapsed",
        }
    }
}

/// One clock run assessed at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepAssessment {
    /// Which step.
    pub step: Step,
    /// Which run of it.
    pub occurrence: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// The last local date on which the step is in time.
    pub due_date: NaiveDate,
    /// The deadline: 23:59:59 local time on `due_date`.
    pub due_at: DateTime<Utc>,
    /// Days added for waiting on the complainant.
    pub paused_days: u32,
    /// The status at the instant asked about.
    pub status: StepStatus,
    /// Whether a duty ended (or is still running) after its deadline; never set for the
    /// feedback window, which is meant to run out.
    pub late: bool,
    /// Whether a breach of this run has been recorded.
    pub breach_recorded: bool,
    /// Whether that breach was annulled by the coordinator.
    #[serde(default)]
    pub breach_annulled: bool,
    /// For a run that has ended: the holiday table and policy that fixed its verdict
    /// (`None` while running, when the current ones judge it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_by: Option<JudgedBy>,
    /// The due date lies beyond the holiday table: only weekends were skipped.
    pub beyond_holiday_table: bool,
}

impl StepAssessment {
    /// Whether a breach of this run should be recorded now: it is breachable, ran or is
    /// running late, and no breach is on record yet.
    pub fn breach_to_record(&self) -> bool {
        self.step.is_breachable() && self.late && !self.breach_recorded
    }
}

/// Assesses one clock run at `now`.
pub fn assess_clock(
    clock: &StepClock,
    category: &str,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> StepAssessment {
    let tz = &policy.time_zone;
    let ended = clock.ended_at.filter(|e| *e <= now);
    if let (Some(ended), Some(v)) = (ended, clock.verdict.as_ref()) {
        // An ended run keeps the verdict it had when it ended.
        return StepAssessment {
            step: clock.step,
            occurrence: clock.occurrence,
            started_at: clock.started_at,
            ended_at: Some(ended),
            due_date: v.due_date,
            due_at: v.due_at,
            paused_days: v.paused_days,
            status: StepStatus::Done,
            late: v.late,
            breach_recorded: clock.breach_recorded_at.is_some_and(|b| b <= now),
            breach_annulled: clock.breach_annulled_at.is_some_and(|b| b <= now),
            beyond_holiday_table: false,
            judged_by: Some(v.judged_by.clone()),
        };
    }
    let rule = policy.rule(clock.step, category);
    let counted_from = match (clock.reported_at, policy.disposition_counts_from) {
        (Some(reported), CountsFrom::Reported) => reported.min(clock.started_at),
        _ => clock.started_at,
    };
    let start = tz.local_date(counted_from);
    let paused_days: u32 = clock
        .pauses
        .iter()
        .filter(|p| p.from <= now)
        .map(|p| {
            let until = p.until.map_or(now, |u| u.min(now));
            count_days(
                calendar,
                rule.count,
                tz.local_date(p.from),
                tz.local_date(until),
            )
        })
        .sum();
    let days = rule.days.saturating_add(paused_days);
    let due_date = match rule.count {
        DayCount::WorkingDays => calendar.add_working_days(start, days),
        DayCount::CalendarDays => start
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(NaiveDate::MAX),
    };
    let due_at = tz.end_of_day(due_date);
    let paused_now = ended.is_none()
        && clock
            .pauses
            .iter()
            .any(|p| p.from <= now && p.until.is_none_or(|u| u > now));
    let late = ended.unwrap_or(now) > due_at;
    let status = if ended.is_some() {
        StepStatus::Done
    } else if paused_now {
        StepStatus::Paused
    } else if late {
        if clock.step.is_breachable() {
            StepStatus::Breached
        } else {
            StepStatus::Elapsed
        }
    } else {
        let today = tz.local_date(now);
        let left = count_days(calendar, rule.count, today, due_date);
        if clock.step.is_breachable() && left <= policy.at_risk_days {
            StepStatus::AtRisk
        } else {
            StepStatus::OnTrack
        }
    };
    StepAssessment {
        step: clock.step,
        occurrence: clock.occurrence,
        started_at: clock.started_at,
        ended_at: ended,
        due_date,
        due_at,
        paused_days,
        status,
        late: late && !paused_now && clock.step.is_breachable(),
        breach_recorded: clock.breach_recorded_at.is_some_and(|b| b <= now),
        breach_annulled: clock.breach_annulled_at.is_some_and(|b| b <= now),
        beyond_holiday_table: !calendar.covers(due_date),
        judged_by: None,
    }
}

/// Assesses every clock run of a timeline at `now`, in the order they started. Runs
/// that start after `now` are left out.
pub fn assess(
    timeline: &SlaTimeline,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    now: DateTime<Utc>,
) -> Vec<StepAssessment> {
    timeline
        .clocks
        .iter()
        .filter(|c| c.started_at <= now)
        .map(|c| assess_clock(c, &timeline.category, calendar, policy, now))
        .collect()
}

fn count_days(calendar: &WorkingCalendar, count: DayCount, from: NaiveDate, to: NaiveDate) -> u32 {
    match count {
        DayCount::WorkingDays => calendar.working_days_between(from, to),
        DayCount::CalendarDays => u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX),
    }
}

/// Where a running, unpaused clock's deadline lies: what the SLA board indexes so that
/// "overdue now" and "at risk now" are range scans instead of replays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenDeadline {
    /// The last local date in time.
    pub due_date: NaiveDate,
    /// The deadline instant.
    pub due_at: DateTime<Utc>,
    /// From this instant on the clock is at risk (start of the local day).
    pub at_risk_from: DateTime<Utc>,
}

/// The deadline of a clock that is running and not paused; `None` for an ended clock or
/// one waiting for the complainant (whose deadline still grows with time).
///
/// Agrees with [`assess_clock`]: for any `now` before `due_at` the clock is at risk
/// exactly when `now >= at_risk_from` (for breachable steps), and breached after `due_at`.
pub fn open_deadline(
    clock: &StepClock,
    category: &str,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
) -> Option<OpenDeadline> {
    if clock.ended_at.is_some() || clock.pauses.iter().any(|p| p.until.is_none()) {
        return None;
    }
    let settled = clock
        .pauses
        .iter()
        .filter_map(|p| p.until)
        .chain([clock.started_at])
        .max()
        .unwrap_or(clock.started_at);
    let a = assess_clock(clock, category, calendar, policy, settled);
    let rule = policy.rule(clock.step, category);
    let tz = &policy.time_zone;
    // Walk back from the due date while at most `at_risk_days` days remain.
    let mut first = a.due_date;
    for _ in 0..400 {
        let Some(previous) = first.pred_opt() else {
            break;
        };
        if count_days(calendar, rule.count, previous, a.due_date) > policy.at_risk_days {
            break;
        }
        first = previous;
    }
    let at_risk_from =
        tz.end_of_day(first.pred_opt().unwrap_or(first)) + chrono::Duration::seconds(1);
    Some(OpenDeadline {
        due_date: a.due_date,
        due_at: a.due_at,
        at_risk_from,
    })
}
