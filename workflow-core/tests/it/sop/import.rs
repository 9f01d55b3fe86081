//! Import from LAPOR!-SP4N: a report is registered as UPP would, marked as imported, and
//! one that LAPOR! has already disposed arrives disposed, its clocks started at LAPOR!'s
//! own dates (step 1 from the report, step 2 from LAPOR!'s disposition).

use workflow_core::complaint::command::{ComplaintCommand as C, ImportedDisposition, LaporImport};
use workflow_core::fixtures::*;
use workflow_core::{DomainError, EventBody as E, LaporStatus, Status, Step};

use crate::support::Case;

fn report(status: LaporStatus, disposed_at: Option<&str>) -> LaporImport {
    let mut registration = registration();
    // Filed on Monday 23 November, a week before the import.
    registration.reported_at = wib("2026-11-23 08:00");
    LaporImport {
        registration,
        channel: Some("aplikasi".into()),
        lapor_status: status,
        disposed: disposed_at.map(|at| ImportedDisposition {
            disposition: disposition("PUPR"),
            at: wib(at),
        }),
    }
}

#[test]
fn a_report_still_in_verification_is_registered_and_marked_imported() {
    let mut case = Case::new();
    let events = case.ok(
        upp(),
        "2026-11-30 09:00",
        C::Import(report(LaporStatus::Verification, None)),
    );
    let bodies: Vec<&str> = events.iter().map(|e| e.body.event_type()).collect();
    assert_eq!(bodies, ["Received", "Imported"]);
    // The registration is dated when LAPOR! received the report; the mark when it came.
    assert_eq!(events[0].at, wib("2026-11-23 08:00"));
    assert_eq!(events[1].at, wib("2026-11-30 09:00"));
    let E::Imported(record) = &events[1].body else {
        panic!("{:?}", events[1].body)
    };
    assert_eq!(record.lapor_status, LaporStatus::Verification);
    assert_eq!(record.channel.as_deref(), Some("aplikasi"));
    assert_eq!(record.disposed_at, None);
    assert_eq!(case.state().status(), Status::Received);
    // Step 1 counts from the report: three working days from Monday 23 November ran out
    // on Thursday 26, so the unit is late from the first moment.
    let step1 = case.clock(Step::Disposition, "2026-11-30 09:00");
    assert_eq!(step1.started_at, wib("2026-11-23 08:00"));
    assert_eq!(step1.due_date, date("2026-11-26"));
    assert!(step1.late);
}

#[test]
fn a_report_lapor_disposed_arrives_disposed_with_lapor_dates() {
    for status in [LaporStatus::Disposed, LaporStatus::InFollowUp] {
        let mut case = Case::new();
        let events = case.ok(
            upp(),
            "2026-11-30 09:00",
            C::Import(report(status, Some("2026-11-25 14:00"))),
        );
        let bodies: Vec<&str> = events.iter().map(|e| e.body.event_type()).collect();
        assert_eq!(bodies, ["Received", "Disposed", "Imported"], "{status:?}");
        assert_eq!(events[1].at, wib("2026-11-25 14:00"));
        assert_eq!(events[1].body, E::Disposed(disposition("PUPR")));
        // LAPOR! disposed within three working days: step 1's verdict, fixed when its
        // clock ended, is "in time", and it is carried by the disposition.
        assert_eq!(events[1].verdicts.len(), 1, "{:?}", events[1].verdicts);
        assert_eq!(events[1].verdicts[0].step, Step::Disposition);
        assert!(!events[1].verdicts[0].late);
        let state = case.state();
        assert_eq!(state.status(), Status::Disposed);
        assert_eq!(state.agency().map(|a| a.0.as_str()), Some("PUPR"));
        // Step 2 counts from LAPOR!'s disposition, not from the import.
        let review = case.clock(Step::Review, "2026-11-30 09:00");
        assert_eq!(review.started_at, wib("2026-11-25 14:00"));
        assert_eq!(review.due_date, date("2026-11-30"));
        // The liaison officer takes it from there like any other.
        case.ok(
            liaison("PUPR"),
            "2026-11-30 10:00",
            C::Review(complete_review()),
        );
    }
}

#[test]
fn a_late_disposition_in_lapor_is_judged_late() {
    let mut case = Case::new();
    let events = case.ok(
        upp(),
        "2026-11-30 09:00",
        C::Import(report(LaporStatus::Disposed, Some("2026-11-27 10:00"))),
    );
    assert!(events[1].verdicts[0].late, "{:?}", events[1].verdicts);
}

#[test]
fn what_lapor_has_settled_is_not_imported() {
    for status in [
        LaporStatus::AwaitingFeedback,
        LaporStatus::Finished,
        LaporStatus::Archived,
    ] {
        Case::new().refuses(
            upp(),
            "2026-11-30 09:00",
            C::Import(report(status, Some("2026-11-25 14:00"))),
            DomainError::ImportOfSettledReport { status },
        );
    }
}

#[test]
fn a_disposition_comes_with_a_disposed_status_and_only_then() {
    Case::new().refuses(
        upp(),
        "2026-11-30 09:00",
        C::Import(report(LaporStatus::Disposed, None)),
        DomainError::ImportDispositionMismatch {
            status: LaporStatus::Disposed,
        },
    );
    Case::new().refuses(
        upp(),
        "2026-11-30 09:00",
        C::Import(report(LaporStatus::Verification, Some("2026-11-25 14:00"))),
        DomainError::ImportDispositionMismatch {
            status: LaporStatus::Verification,
        },
    );
}

#[test]
fn a_disposition_lies_between_the_report_and_the_import() {
    for at in ["2026-11-23 07:59", "2026-11-30 09:01"] {
        Case::new().refuses(
            upp(),
            "2026-11-30 09:00",
            C::Import(report(LaporStatus::Disposed, Some(at))),
            DomainError::ImportDispositionDate {
                disposed_at: wib(at),
                reported_at: wib("2026-11-23 08:00"),
                imported_at: wib("2026-11-30 09:00"),
            },
        );
    }
}

#[test]
fn an_import_is_checked_as_a_registration_is_and_by_upp_only() {
    let mut untitled = report(LaporStatus::Verification, None);
    untitled.registration.title = " ".into();
    Case::new().refuses(
        upp(),
        "2026-11-30 09:00",
        C::Import(untitled),
        DomainError::MissingField { field: "title" },
    );
    Case::new().refuses(
        liaison("PUPR"),
        "2026-11-30 09:00",
        C::Import(report(LaporStatus::Verification, None)),
        "access.role_not_permitted",
    );
    let mut case = Case::registered();
    case.refuses(
        upp(),
        "2026-11-30 09:30",
        C::Import(report(LaporStatus::Verification, None)),
        DomainError::AlreadyRegistered,
    );
}
