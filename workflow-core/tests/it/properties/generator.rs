//! The generator of histories: requests of every command, by the actor the SOP gives
//! it or another, well formed or not, at times that move on.

use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use workflow_core::complainant::{Identity, PersonalData, SealedIdentity};
use workflow_core::complaint::command::{
    BreachAnnulment, BreachReport, Closure, ComplaintCommand as C, IdentityErasure, Reassignment,
    ResponseChannel, ReturnNote, WindowReport,
};
use workflow_core::complaint::command::{ImportedDisposition, LaporImport};
use workflow_core::evidence::EvidenceRef;
use workflow_core::fixtures::*;
use workflow_core::{
    Actor, AgencyCode, Complaint, ComplaintServices, LaporStatus, Role, SlaPolicy, Status, Step,
    UserId, WorkingCalendar,
};

const AGENCIES: [&str; 2] = ["PUPR", "DISHUB"];

/// An actor other than the natural one for a request (`9`, the natural one under a
/// user name the engine reserves, is handled in [`to_command`]).
fn any_actor(i: usize) -> Actor {
    match i {
        0 => upp(),
        1 => coordinator(),
        2 => liaison("PUPR"),
        3 => liaison("DISHUB"),
        4 => head("PUPR"),
        5 => apip(),
        6 => system(),
        // Another liaison officer of the same agency, not the one assigned.
        7 => Actor::of_agency("penghubung2.pupr", Role::Liaison, "PUPR"),
        _ => head("DISHUB"),
    }
}

/// User names `decide` refuses: a `:` (the separator of command ids) or one of the
/// prefixes of the engine's own command ids.
const BAD_USER_NAMES: [&str; 4] = ["sari:upp", "sla-breach", "auto-close", "deemed-withdrawn"];

/// One generated request: which command, by whom, how far the clock moves first, and
/// whether (and how) its content is malformed.
#[derive(Clone, Debug)]
pub(super) struct Request {
    /// Send the SOP's next command for the complaint's status rather than `kind`, so
    /// that histories go deep.
    follow: bool,
    kind: u8,
    natural_actor: bool,
    actor: usize,
    agency: usize,
    well_formed: bool,
    /// Which malformation, when not well formed.
    defect: u8,
    flag: bool,
    pub(super) hours: i64,
    pub(super) reuse_id: Option<usize>,
}

fn request_strategy() -> impl Strategy<Value = Request> {
    (
        (
            prop::bool::weighted(0.35),
            0u8..25,
            prop::bool::weighted(0.8),
            0usize..10,
            0usize..2,
        ),
        (
            prop::bool::weighted(0.7),
            0u8..6,
            any::<bool>(),
            0i64..80,
            prop::option::weighted(0.1, 0usize..8),
        ),
    )
        .prop_map(
            |(
                (follow, kind, natural_actor, actor, agency),
                (well_formed, defect, flag, hours, reuse_id),
            )| {
                Request {
                    follow,
                    kind,
                    natural_actor,
                    actor,
                    agency,
                    well_formed,
                    defect,
                    flag,
                    hours,
                    reuse_id,
                }
            },
        )
}

/// A generated history: its requests, and the policy it runs under.
#[derive(Clone, Debug)]
pub(super) struct History {
    /// The policy has the response wait for the head's acknowledgement of the BA.
    pub(super) ack_required: bool,
    /// Agencies send the complaint back readily (so that returns reach the coordinator).
    returny: bool,
    pub(super) requests: Vec<Request>,
}

pub(super) fn history_strategy(len: std::ops::Range<usize>) -> impl Strategy<Value = History> {
    (
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::collection::vec(request_strategy(), len),
    )
        .prop_map(|(ack_required, returny, requests)| History {
            ack_required,
            returny,
            requests,
        })
}

pub(super) static SERVICES: LazyLock<[ComplaintServices; 2]> = LazyLock::new(|| {
    let calendar = Arc::new(WorkingCalendar::builtin());
    let awaiting_ack = SlaPolicy {
        response_requires_ba_acknowledgement: true,
        ..SlaPolicy::default()
    };
    [
        ComplaintServices {
            calendar: calendar.clone(),
            policy: Arc::new(SlaPolicy::default()),
        },
        ComplaintServices {
            calendar,
            policy: Arc::new(awaiting_ack),
        },
    ]
});

/// A sealed identity, which only the store makes: a registration carrying one is refused.
fn sealed() -> SealedIdentity {
    SealedIdentity {
        key_id: "k".into(),
        algorithm: "XChaCha20-Poly1305".into(),
        nonce: "00".into(),
        ciphertext: "00".into(),
    }
}

fn malformed_evidence() -> EvidenceRef {
    EvidenceRef {
        sha256: "not-a-digest".into(),
        ..photo(7)
    }
}

/// The `kind` of the SOP's next command for the complaint where it stands (a terminal
/// complaint has none: the request's own kind is sent).
fn next_kind(r: &Request, state: &Complaint, history: &History) -> u8 {
    let returnable = matches!(
        state.status(),
        Status::Disposed
            | Status::Reviewed
            | Status::InformationProvided
            | Status::Clarified
            | Status::FieldVerified
    );
    if history.returny && returnable && r.hours % 2 == 0 {
        return 2;
    }
    match state.status() {
        // Now and then the complaint comes by import from LAPOR!.
        Status::New if r.hours % 4 == 0 => 24,
        Status::New => 0,
        // Now and then a complaint is archived or forwarded at the door.
        Status::Received | Status::Returned if r.hours % 12 == 0 => {
            if r.flag {
                19
            } else {
                21
            }
        }
        Status::Received | Status::Returned => 1,
        Status::Disposed | Status::InformationProvided => 3,
        Status::Reviewed => match state.last_review() {
            Some(review) if review.complete && review.clear => 7,
            Some(review) if !review.complete && !review.clear && r.flag => 4,
            _ => 5,
        },
        Status::AwaitingInformation => 6,
        Status::Clarified => match state.clarification() {
            Some(c) if c.field_examination_needed => 8,
            _ => 10,
        },
        Status::FieldVerified => 9,
        // Responding before the head acknowledged is refused where the policy says so.
        Status::BaIssued if !state.ba_acknowledged() && r.flag => 17,
        Status::BaIssued => 10,
        Status::Responded => match state.feedback() {
            None => 13,
            Some(f) if !f.satisfied && r.flag => 14,
            Some(_) => 11,
        },
        Status::Rejected
        | Status::Closed
        | Status::Archived
        | Status::Withdrawn
        | Status::Forwarded => r.kind,
    }
}

/// The command a request stands for, and who sends it. The natural actor follows the
/// complaint (the assigned liaison officer, the head of the agency holding it), so that
/// histories go deep; the others come from [`any_actor`].
pub(super) fn to_command(
    r: &Request,
    state: &Complaint,
    history: &History,
    now: DateTime<Utc>,
) -> (Actor, C) {
    let held_by = state.agency().map(|a| a.0.clone());
    let agency = held_by.clone().unwrap_or_else(|| AGENCIES[r.agency].into());
    let assigned = match state.disposition() {
        Some(d) => Actor::of_agency(d.liaison_officer.0.clone(), Role::Liaison, &d.agency.0),
        None => liaison(&agency),
    };
    let bad = !r.well_formed;
    let defect = r.defect;
    let blank = |text: &str| if bad { String::new() } else { text.to_owned() };
    let kind = if r.follow {
        next_kind(r, state, history)
    } else {
        r.kind
    };
    let (natural, command) = match kind {
        0 => {
            let mut reg = registration();
            if bad {
                match defect % 6 {
                    0 => reg.title = " ".into(),
                    1 => reg.reported_at = now + Duration::hours(1),
                    2 => reg.reported_at = wib("1999-12-31 23:00"),
                    3 => reg.attachments.push(malformed_evidence()),
                    4 => {
                        reg.complainant.identity = Identity::Plain(PersonalData::default());
                    }
                    _ => reg.complainant.identity = Identity::Sealed { sealed: sealed() },
                }
            }
            (upp(), C::Register(reg))
        }
        1 => {
            // Re-disposing goes to either agency; the first disposal too.
            let mut d = disposition(AGENCIES[r.agency]);
            if r.flag {
                d.sub_unit = Some("UPT Jalan dan Jembatan".into());
            }
            if bad {
                match defect % 3 {
                    0 => d.liaison_officer = UserId(String::new()),
                    1 => d.sub_unit = Some(" ".into()),
                    _ => d.agency = AgencyCode(String::new()),
                }
            }
            (if r.flag { upp() } else { coordinator() }, C::Dispose(d))
        }
        // Returns are possible at many steps: rarer, so that histories also go deep,
        // except in the histories where agencies send complaints back readily.
        2 if history.returny || r.hours % 3 == 0 => (
            assigned,
            C::ReturnForRedisposition(ReturnNote {
                reason: blank("bukan kewenangan kami"),
                suggested_agency: None,
            }),
        ),
        3 => {
            // The two questions of step 2, in all four combinations.
            let mut review = match (r.flag, r.hours % 2 == 0) {
                (true, true) => complete_review(),
                (true, false) => unclear_review(),
                (false, true) => incomplete_but_clear_review(),
                (false, false) => incomplete_review(),
            };
            if bad {
                if defect.is_multiple_of(2) {
                    review.complete = !review.complete;
                } else {
                    review.missing_items.push("  ".into());
                }
            }
            (assigned, C::Review(review))
        }
        4 => {
            let mut rejection = rejection();
            rejection.reason = blank(&rejection.reason);
            (assigned, C::Reject(rejection))
        }
        5 => {
            let mut q = information_request();
            if bad {
                q.questions = if defect.is_multiple_of(2) {
                    vec![]
                } else {
                    vec![" ".into()]
                };
            }
            (assigned, C::RequestInformation(q))
        }
        6 => {
            let mut a = information_reply();
            if bad {
                if defect.is_multiple_of(2) {
                    a.answer = String::new();
                } else {
                    a.attachments.push(malformed_evidence());
                }
            }
            (upp(), C::ProvideInformation(a))
        }
        7 => {
            let mut c = clarification(r.flag);
            c.reasoning = blank(&c.reasoning);
            (assigned, C::Clarify(c))
        }
        8 => {
            let mut v = field_visit("2026-11-30");
            if bad {
                match defect {
                    0 => v.evidence = vec![scan(3)],
                    1 => v.evidence.push(malformed_evidence()),
                    2 => v.visit_date = date("2030-01-02"),
                    3 => v.location = String::new(),
                    4 => v.parties_summoned.clear(),
                    _ => v.parties_summoned[0].name = " ".into(),
                }
            }
            (assigned, C::VerifyInField(v))
        }
        9 => {
            let mut ba = berita_acara(&agency, "2026-11-30");
            if bad {
                match defect % 5 {
                    0 => {
                        let other = if agency == "PUPR" { "DISHUB" } else { "PUPR" };
                        ba.addressee.agency = other.into();
                    }
                    1 => ba.date = date("2026-11-29"),
                    2 => ba.signatories.clear(),
                    3 => ba.number = String::new(),
                    _ => ba.solution = " ".into(),
                }
            }
            (assigned, C::IssueBa(ba))
        }
        10 => {
            let mut text = response_text();
            text.channel = if r.flag {
                ResponseChannel::Lapor
            } else {
                ResponseChannel::Letter
            };
            // Left empty, a response after the BA carries the BA's solution; after a
            // clarification it is missing.
            text.response = blank(&text.response);
            (assigned, C::Respond(text))
        }
        11 => (
            if r.flag { upp() } else { system() },
            C::Close(Closure {
                note: r.flag.then(|| "Ditutup".into()),
            }),
        ),
        12 => {
            let mut p = progress_report();
            p.text = blank(&p.text);
            (assigned, C::ReportProgress(p))
        }
        13 => {
            let mut f = feedback(r.flag);
            if bad {
                f.satisfied = false;
                f.text = String::new();
            }
            (upp(), C::RecordFeedback(f))
        }
        14 => {
            let mut o = reopening();
            o.reason = blank(&o.reason);
            (if r.flag { upp() } else { coordinator() }, C::Reopen(o))
        }
        15 => {
            // To another liaison officer of the agency, or to the one already assigned.
            let to = if r.hours % 2 == 0 {
                format!("penghubung2.{}", agency.to_lowercase())
            } else {
                format!("penghubung.{}", agency.to_lowercase())
            };
            let mut reassignment = Reassignment {
                liaison_officer: UserId(to),
                reason: "Pejabat penghubung cuti".into(),
            };
            if bad {
                if defect.is_multiple_of(2) {
                    reassignment.reason = String::new();
                } else {
                    reassignment.liaison_officer = UserId(" ".into());
                }
            }
            (
                if r.flag { upp() } else { head(&agency) },
                C::Reassign(reassignment),
            )
        }
        16 => (
            coordinator(),
            C::AnnulBreach(BreachAnnulment {
                step: Step::ALL[r.actor % Step::ALL.len()],
                occurrence: 1 + u32::from(r.hours % 3 == 0),
                reason: blank("Gangguan sistem LAPOR!"),
            }),
        ),
        17 => (head(&agency), C::AcknowledgeBa(Default::default())),
        // Erasure goes in any state; now and then twice.
        22 if r.follow || r.hours % 8 == 0 => (
            if r.flag { upp() } else { coordinator() },
            C::EraseIdentity(IdentityErasure {
                legal_basis: blank("Permintaan pelapor, Pasal 8 UU 27/2022"),
            }),
        ),
        18 => (system(), C::DeemWithdrawn(WindowReport::default())),
        // The door's commands end a complaint: rarer, so that histories also go deep.
        19 if r.follow || r.hours % 16 == 0 => (
            upp(),
            C::Archive(match (r.well_formed, r.flag) {
                (true, true) => duplicate_of("ADU-0"),
                (true, false) => spam(),
                (false, true) => {
                    let mut a = spam();
                    a.duplicate_of = Some("ADU-0".into());
                    a
                }
                (false, false) => duplicate_of(" "),
            }),
        ),
        20 if r.follow || r.hours % 16 == 0 => {
            let mut w = withdrawal();
            w.note = blank(&w.note);
            (upp(), C::Withdraw(w))
        }
        21 if r.follow || r.hours % 16 == 0 => {
            let mut f = forwarding();
            f.institution = blank(&f.institution);
            (if r.flag { upp() } else { coordinator() }, C::Forward(f))
        }
        24 => {
            let mut import = LaporImport {
                registration: registration(),
                channel: Some("aplikasi".into()),
                lapor_status: LaporStatus::Verification,
                disposed: None,
            };
            let in_lapor = ImportedDisposition {
                disposition: disposition(AGENCIES[r.agency]),
                at: import.registration.reported_at + Duration::minutes(30),
            };
            if r.flag {
                import.lapor_status = LaporStatus::InFollowUp;
                import.disposed = Some(in_lapor.clone());
            }
            if bad {
                match defect % 6 {
                    0 => import.lapor_status = LaporStatus::Finished,
                    1 => import.disposed = None,
                    2 => import.disposed = Some(in_lapor),
                    3 => {
                        import.lapor_status = LaporStatus::Disposed;
                        import.disposed = Some(ImportedDisposition {
                            at: now + Duration::hours(1),
                            ..in_lapor
                        });
                    }
                    4 => import.registration.title = " ".into(),
                    _ => {
                        import.lapor_status = LaporStatus::Disposed;
                        import.disposed = Some(ImportedDisposition {
                            disposition: disposition(""),
                            ..in_lapor
                        });
                    }
                }
            }
            (upp(), C::Import(import))
        }
        _ => (
            system(),
            C::RecordSlaBreach(if r.flag {
                BreachReport::latest(Step::ALL[r.actor % Step::ALL.len()])
            } else {
                BreachReport {
                    step: Step::ALL[r.actor % Step::ALL.len()],
                    occurrence: Some(1),
                }
            }),
        ),
    };
    let actor = match (r.natural_actor, r.actor) {
        (true, _) => natural,
        (false, 9) => Actor {
            user: UserId(BAD_USER_NAMES[r.hours as usize % BAD_USER_NAMES.len()].into()),
            ..natural
        },
        (false, i) => any_actor(i),
    };
    (actor, command)
}
