//! The SLA policy: how long each step may take, counted in which days from when; the
//! operator's setting, fingerprinted so that a verdict can name the policy it applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Step;
use crate::calendar::TimeZoneSpec;

/// Whether a duration counts working days or calendar days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Monday to Friday less holidays and cuti bersama.
    WorkingDays,
    /// Every day.
    CalendarDays,
}

/// How long a step may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRule {
    /// Number of days.
    pub days: u32,
    /// Working or calendar days.
    pub count: DayCount,
}

impl StepRule {
    /// `days` working days.
    pub const fn working(days: u32) -> Self {
        Self {
            days,
            count: DayCount::WorkingDays,
        }
    }

    /// `days` calendar days.
    pub const fn calendar(days: u32) -> Self {
        Self {
            days,
            count: DayCount::CalendarDays,
        }
    }
}

/// The operator's SLA settings. A field it does not know is refused, so that a
/// misspelt one (`identity_retention_year`) is not silently left at its default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Duration of each step.
    pub steps: BTreeMap<Step, StepRule>,
    /// Durations that differ for a complaint category (category name → step → rule).
    #[serde(default)]
    pub by_category: BTreeMap<String, BTreeMap<Step, StepRule>>,
    /// A running step is *at risk* when at most this many days remain after today.
    pub at_risk_days: u32,
    /// The zone whose dates count (default Asia/Jakarta, WIB).
    pub time_zone: TimeZoneSpec,
    /// Whether the response to the complainant waits until the head of the agency has
    /// acknowledged the BA (default `false`: the acknowledgement is recorded, not awaited).
    #[serde(default)]
    pub response_requires_ba_acknowledgement: bool,
    /// Where step 1 (disposition) counts from: the report's arrival in LAPOR! (default,
    /// so that figures reconcile with the LAPOR! dashboard) or its local registration.
    #[serde(default)]
    pub disposition_counts_from: CountsFrom,
    /// Erase the complainant's identity this many years after the complaint ended
    /// (closed, rejected, archived, withdrawn or forwarded): the SLA monitor records the
    /// erasure as any other (UU 27/2022). Off (`None`) by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_retention_years: Option<u32>,
}

/// Where the first run of step 1 counts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountsFrom {
    /// The report's arrival in LAPOR!-SP4N (`reported_at`).
    #[default]
    Reported,
    /// Its registration by the unit.
    Registered,
}

impl Default for SlaPolicy {
    /// 3 working days for each SOP step and for the response, 10 working days of
    /// feedback, 60 calendar days overall, 30 calendar days for the complainant to
    /// answer an information request, 5 working days for LAPOR!'s follow-up, at risk with
    /// one day left, in WIB; step 1 counts from the report's arrival in LAPOR!.
    fn default() -> Self {
        let steps = BTreeMap::from([
            (Step::Disposition, StepRule::working(3)),
            (Step::Review, StepRule::working(3)),
            (Step::FieldVerification, StepRule::working(3)),
            (Step::Response, StepRule::working(3)),
            (Step::Feedback, StepRule::working(10)),
            (Step::Overall, StepRule::calendar(60)),
            (Step::InformationWait, StepRule::calendar(30)),
            (Step::FollowUp, StepRule::working(5)),
        ]);
        Self {
            steps,
            by_category: BTreeMap::new(),
            response_requires_ba_acknowledgement: false,
            disposition_counts_from: CountsFrom::Reported,
            identity_retention_years: None,
            at_risk_days: 1,
            time_zone: TimeZoneSpec::jakarta(),
        }
    }
}

impl SlaPolicy {
    /// The rule for a step, with the category's override if there is one.
    pub fn rule(&self, step: Step, category: &str) -> StepRule {
        self.by_category
            .get(category)
            .and_then(|rules| rules.get(&step))
            .or_else(|| self.steps.get(&step))
            .copied()
            .unwrap_or_else(|| SlaPolicy::default().steps[&step])
    }

    /// A short fingerprint of the policy's content (the sha256 of its JSON, 16 hex
    /// digits): verdicts cite it, so an auditor can tell which policy judged a deadline.
    pub fn version(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(json);
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}
