//! Reading a complaint's SLA clocks.

use std::collections::BTreeSet;

use workflow_core::calendar::HolidayTable;
use workflow_core::sla::StepAssessment;
use workflow_core::{Complaint, Step, WorkingCalendar};

/// The latest run of `step`'s clock.
#[track_caller]
pub fn latest(assessments: &[StepAssessment], step: Step) -> StepAssessment {
    assessments
        .iter()
        .rev()
        .find(|a| a.step == step)
        .cloned()
        .unwrap_or_else(|| panic!("no {step} clock in {assessments:#?}"))
}

/// The clock runs (step, occurrence) that `after` has ended and `before` had not.
pub fn clocks_ended(before: &Complaint, after: &Complaint) -> BTreeSet<(Step, u32)> {
    after
        .timeline()
        .clocks
        .iter()
        .filter(|c| c.ended_at.is_some())
        .filter(|c| {
            before
                .timeline()
                .run(c.step, c.occurrence)
                .is_none_or(|b| b.ended_at.is_none())
        })
        .map(|c| (c.step, c.occurrence))
        .collect()
}

/// The shipped calendar, amended so that `dates` (`YYYY-MM-DD`) are cuti bersama too.
pub fn with_extra_holidays(dates: &[&str]) -> WorkingCalendar {
    let mut csv = String::from("date,kind,name_id,name_en,source\n");
    for d in dates {
        csv.push_str(&format!("{d},cuti_bersama,Tambahan,Extra,SKB perubahan\n"));
    }
    let amendment = HolidayTable::parse(&csv).expect("the amendment parses");
    WorkingCalendar::new(HolidayTable::builtin().amended_by(&amendment))
}
