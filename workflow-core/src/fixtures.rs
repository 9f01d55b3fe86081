//! Helpers that let tests read as SOP stories: actors, sample commands, and a [`Story`]
//! builder for the events that are *given*. Enabled by the `fixtures` feature.
//!
//! Times are local (WIB) wall-clock strings, so a test says `wib("2026-11-30 09:00")`
//! and reads like the calendar on the office wall.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::actor::{Actor, Role};
use crate::calendar::TimeZoneSpec;
use crate::complainant::{Complainant, Confidentiality, PersonalData};
use crate::complaint::command::{
    Addressee, ArchiveReason, Archiving, BeritaAcara, Clarification, ClosingReason, ClosingRecord,
    CommandEnvelope, CommandId, ComplaintCommand, Disposition, Feedback, FieldVisit, Forwarding,
    InformationReply, InformationRequest, Party, ProgressReport, Registration, Rejection,
    Reopening, ResponseChannel, ResponseText, ReturnNote, ReviewResult, Withdrawal,
};
use crate::complaint::event::{ComplaintEvent, EventBody};
use crate::evidence::EvidenceRef;

/// An instant given as WIB wall-clock time, `YYYY-MM-DD HH:MM`.
pub fn wib(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("fixture time `{local}`: {e}"));
    TimeZoneSpec::jakarta()
        .offset()
        .from_local_datetime(&naive)
        .single()
        .expect("WIB has no gaps")
        .with_timezone(&Utc)
}

/// The last second of a WIB date, `YYYY-MM-DD`: the instant a deadline that falls on
/// that date runs out.
pub fn end_of(local_date: &str) -> DateTime<Utc> {
    wib(&format!("{local_date} 23:59")) + Duration::seconds(59)
}

/// A date, `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("fixture date `{s}`: {e}"))
}

/// Sari, of the complaint management unit.
pub fn upp() -> Actor {
    Actor::new("sari.upp", Role::Upp)
}

/// The chair of the coordination team.
pub fn coordinator() -> Actor {
    Actor::new("ketua.tim", Role::Coordinator)
}

/// The liaison officer of an agency.
pub fn liaison(agency: &str) -> Actor {
    Actor::of_agency(
        format!("penghubung.{}", agency.to_lowercase()),
        Role::Liaison,
        agency,
    )
}

/// The head of an agency.
pub fn head(agency: &str) -> Actor {
    Actor::of_agency(
        format!("kepala.{}", agency.to_lowercase()),
        Role::Head,
        agency,
    )
}

/// An internal auditor.
pub fn apip() -> Actor {
    Actor::new("auditor.apip", Role::Apip)
}

/// The engine.
pub fn system() -> Actor {
    Actor::system()
}

/// A photo reference; `n` makes distinct digests.
pub fn photo(n: u8) -> EvidenceRef {
    let caption = format!("Foto lokasi {n}");
    evidence(u128::from(n) + 1, "image/jpeg", 48_213, caption)
}

/// A scanned document reference; `n` makes distinct digests, none a photo's.
pub fn scan(n: u8) -> EvidenceRef {
    let caption = format!("Pindaian dokumen {n}");
    evidence(u128::from(n) + 1000, "application/pdf", 120_400, caption)
}

fn evidence(digest: u128, media_type: &str, size: u64, caption: String) -> EvidenceRef {
    EvidenceRef {
        sha256: format!("{digest:064x}"),
        media_type: media_type.into(),
        size,
        caption,
    }
}

/// A pothole complaint as it arrives from LAPOR!.
pub fn registration() -> Registration {
    Registration {
        lapor_id: "LAP-2026-11-000451".into(),
        title: "Jalan berlubang di depan SDN 3 Selat".into(),
        description: "Lubang besar di Jl. Tambun Bungai membahayakan anak sekolah.".into(),
        category: "infrastruktur".into(),
        location: Some("Jl. Tambun Bungai, Kuala Kapuas".into()),
        reported_at: wib("2026-11-30 06:30"),
        complainant: Complainant::plain(
            PersonalData {
                name: "Budi Santoso".into(),
                phone: Some("+62 812 0000 0451".into()),
                ..PersonalData::default()
            },
            Confidentiality::Anonymous,
        ),
        upp_review: "Kewenangan Dinas PUPR; data dukung berupa foto terlampir.".into(),
        attachments: vec![photo(90)],
    }
}

/// Disposition to an agency's liaison officer.
pub fn disposition(agency: &str) -> Disposition {
    Disposition {
        agency: agency.into(),
        liaison_officer: liaison(agency).user,
        sub_unit: None,
        note: Some("Mohon ditindaklanjuti sesuai SOP".into()),
    }
}

/// Sent back as another agency's matter.
pub fn return_note() -> ReturnNote {
    ReturnNote {
        reason: "Jalan kabupaten ini kewenangan Dinas PUPR, bukan Dishub".into(),
        suggested_agency: Some("PUPR".into()),
    }
}

/// A review that found the file complete.
pub fn complete_review() -> ReviewResult {
    ReviewResult {
        complete: true,
        clear: true,
        missing_items: vec![],
        notes: "Data dukung lengkap".into(),
    }
}

/// A review that found the complaint both incomplete and unclear (the one case that
/// may end it).
pub fn incomplete_review() -> ReviewResult {
    ReviewResult {
        complete: false,
        clear: false,
        missing_items: vec!["titik lokasi yang tepat".into()],
        notes: "Lokasi tidak jelas".into(),
    }
}

/// A clear report that lacks supporting data (a photo, say).
pub fn incomplete_but_clear_review() -> ReviewResult {
    ReviewResult {
        complete: false,
        clear: true,
        missing_items: vec!["foto lokasi".into()],
        notes: "Laporan jelas, foto belum ada".into(),
    }
}

/// A report with all its data whose meaning is not clear.
pub fn unclear_review() -> ReviewResult {
    ReviewResult {
        complete: true,
        clear: false,
        missing_items: vec![],
        notes: "Data lengkap, maksud laporan belum jelas".into(),
    }
}

/// Questions for the complainant.
pub fn information_request() -> InformationRequest {
    InformationRequest {
        questions: vec!["Di ruas jalan mana tepatnya lubang itu?".into()],
    }
}

/// The complainant's answer.
pub fn information_reply() -> InformationReply {
    InformationReply {
        answer: "Di depan SDN 3 Selat, sekitar 20 m dari gerbang".into(),
        attachments: vec![photo(91)],
    }
}

/// A rejection.
pub fn rejection() -> Rejection {
    Rejection {
        reason: "Aduan tidak lengkap dan tidak jelas; pelapor tidak menanggapi".into(),
    }
}

/// The step-2 conclusion.
pub fn clarification(field_examination_needed: bool) -> Clarification {
    Clarification {
        field_examination_needed,
        reasoning: if field_examination_needed {
            "Perlu dicek ukuran lubang dan kondisi drainase".into()
        } else {
            "Sudah masuk jadwal pemeliharaan rutin".into()
        },
    }
}

/// A field visit on `visit_date` with one photo.
pub fn field_visit(visit_date: &str) -> FieldVisit {
    FieldVisit {
        visit_date: date(visit_date),
        location: "Jl. Tambun Bungai, depan SDN 3 Selat".into(),
        parties_summoned: vec![Party {
            name: "Rahmat".into(),
            position: "Kepala Seksi Pemeliharaan Jalan".into(),
            unit: Some("Bidang Bina Marga".into()),
            nip: None,
        }],
        parties_confirmed: vec![Party {
            name: "Rahmat".into(),
            position: "Kepala Seksi Pemeliharaan Jalan".into(),
            unit: Some("Bidang Bina Marga".into()),
            nip: None,
        }],
        findings: "Lubang 1,2 m x 0,8 m, kedalaman 25 cm; drainase tersumbat".into(),
        evidence: vec![photo(1), scan(2)],
    }
}

/// A BA of `ba_date` addressed to the head of `agency`.
pub fn berita_acara(agency: &str, ba_date: &str) -> BeritaAcara {
    BeritaAcara {
        number: "BA/045/PUPR/XII/2026".into(),
        date: date(ba_date),
        addressee: Addressee {
            name: "Ir. Hendra Wijaya".into(),
            position: format!("Kepala {agency}"),
            agency: agency.into(),
            nip: None,
        },
        signatories: vec![Party {
            name: "Andi Pratama".into(),
            position: "Pejabat Penghubung".into(),
            unit: Some(agency.into()),
            nip: None,
        }],
        findings: "Lubang dan drainase tersumbat terkonfirmasi".into(),
        conclusion: "Perlu penambalan dan normalisasi drainase".into(),
        solution: "Penambalan dijadwalkan minggu ini".into(),
        place: None,
    }
}

/// The answer to the complainant.
pub fn response_text() -> ResponseText {
    ResponseText {
        response: "Terima kasih; lubang akan ditambal pekan ini".into(),
        channel: ResponseChannel::Lapor,
    }
}

/// An interim follow-up.
pub fn progress_report() -> ProgressReport {
    ProgressReport {
        text: "Aduan sedang ditelaah; tim akan meninjau lokasi".into(),
    }
}

/// The complainant's feedback.
pub fn feedback(satisfied: bool) -> Feedback {
    Feedback {
        satisfied,
        text: if satisfied {
            "Terima kasih, sudah ditambal".into()
        } else {
            "Lubang belum ditambal sampai sekarang".into()
        },
    }
}

/// Back to the liaison officer after a dissatisfied complainant.
pub fn reopening() -> Reopening {
    Reopening {
        reason: "Pelapor menyatakan lubang belum ditambal".into(),
    }
}

/// Archived at the door as a duplicate of `original`.
pub fn duplicate_of(original: &str) -> Archiving {
    Archiving {
        reason: ArchiveReason::Duplicate,
        duplicate_of: Some(original.into()),
        note: Some("Laporan yang sama dari pelapor yang sama".into()),
    }
}

/// Archived at the door as spam.
pub fn spam() -> Archiving {
    Archiving {
        reason: ArchiveReason::Spam,
        duplicate_of: None,
        note: None,
    }
}

/// The complainant withdrew.
pub fn withdrawal() -> Withdrawal {
    Withdrawal {
        note: "Pelapor mencabut aduan melalui telepon; masalah sudah selesai".into(),
    }
}

/// Forwarded to an institution outside the Pemkab.
pub fn forwarding() -> Forwarding {
    Forwarding {
        institution: "Balai Besar Pelaksanaan Jalan Nasional Kalimantan Tengah".into(),
        reason: "Jalan nasional, kewenangan Kementerian PU".into(),
    }
}

/// A complaint id known to be valid (panics otherwise: for tests).
pub fn cid(id: impl AsRef<str>) -> crate::ComplaintId {
    crate::ComplaintId::new(id.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

/// A command envelope.
pub fn cmd(
    id: &str,
    actor: Actor,
    at: DateTime<Utc>,
    command: ComplaintCommand,
) -> CommandEnvelope {
    CommandEnvelope::new(id, actor, at, command)
}

/// The event a command produces when accepted.
pub fn event(id: &str, actor: Actor, at: DateTime<Utc>, body: EventBody) -> ComplaintEvent {
    ComplaintEvent {
        at,
        by: actor,
        command_id: CommandId(id.into()),
        body,
        verdicts: Vec::new(),
    }
}

/// Builds the *given* events of a test, one SOP activity at a time, with the clock
/// moving on by an hour (or as told) between them and command ids `given-1`, `given-2`….
#[derive(Clone, Debug)]
pub struct Story {
    events: Vec<ComplaintEvent>,
    clock: DateTime<Utc>,
}

impl Story {
    /// A story whose first event happens at `start`.
    pub fn starting(start: DateTime<Utc>) -> Self {
        Self {
            events: Vec::new(),
            clock: start,
        }
    }

    /// Moves the clock to an instant.
    pub fn at(mut self, instant: DateTime<Utc>) -> Self {
        self.clock = instant;
        self
    }

    /// Records an event by `actor` at the story's clock, then moves the clock an hour on.
    pub fn then(mut self, actor: Actor, body: EventBody) -> Self {
        let id = format!("given-{}", self.events.len() + 1);
        self.events.push(event(&id, actor, self.clock, body));
        self.clock += Duration::hours(1);
        self
    }

    /// The story's clock (when the next event would happen).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock
    }

    /// The events so far.
    pub fn events(&self) -> Vec<ComplaintEvent> {
        self.events.clone()
    }

    /// Registered by UPP, reported in LAPOR! 45 minutes earlier.
    pub fn registered(self) -> Self {
        let reported_at = self.clock - Duration::minutes(45);
        self.then(
            upp(),
            EventBody::Received(Registration {
                reported_at,
                ..registration()
            }),
        )
    }

    /// Disposed by UPP to `agency`.
    pub fn disposed_to(self, agency: &str) -> Self {
        self.then(upp(), EventBody::Disposed(disposition(agency)))
    }

    /// Reviewed by the agency's liaison officer: complete and clear, or neither.
    pub fn reviewed(self, agency: &str, complete: bool) -> Self {
        let review = if complete {
            complete_review()
        } else {
            incomplete_review()
        };
        self.reviewed_as(agency, review)
    }

    /// Reviewed by the agency's liaison officer with this result (of the two questions
    /// of step 2, say, only one answered yes).
    pub fn reviewed_as(self, agency: &str, review: ReviewResult) -> Self {
        self.then(liaison(agency), EventBody::Reviewed(review))
    }

    /// Sent back by the agency's liaison officer as another agency's matter.
    pub fn returned(self, agency: &str) -> Self {
        self.then(liaison(agency), EventBody::Returned(return_note()))
    }

    /// Rejected by the agency's liaison officer.
    pub fn rejected(self, agency: &str) -> Self {
        self.then(liaison(agency), EventBody::Rejected(rejection()))
    }

    /// The agency's liaison officer asked the complainant for information.
    pub fn information_requested(self, agency: &str) -> Self {
        self.then(
            liaison(agency),
            EventBody::InformationRequested(information_request()),
        )
    }

    /// The complainant's answer, recorded by UPP.
    pub fn information_provided(self) -> Self {
        self.then(upp(), EventBody::InformationProvided(information_reply()))
    }

    /// Clarified by the agency's liaison officer.
    pub fn clarified(self, agency: &str, field_examination_needed: bool) -> Self {
        self.then(
            liaison(agency),
            EventBody::Clarified(clarification(field_examination_needed)),
        )
    }

    /// Field-verified on `visit_date`.
    pub fn field_verified(self, agency: &str, visit_date: &str) -> Self {
        self.then(
            liaison(agency),
            EventBody::FieldVerified(field_visit(visit_date)),
        )
    }

    /// BA issued, dated `ba_date`.
    pub fn ba_issued(self, agency: &str, ba_date: &str) -> Self {
        self.then(
            liaison(agency),
            EventBody::BaIssued(berita_acara(agency, ba_date)),
        )
    }

    /// The head of the agency acknowledged the BA.
    pub fn ba_acknowledged(self, agency: &str) -> Self {
        self.then(head(agency), EventBody::BaAcknowledged(Default::default()))
    }

    /// Responded to the complainant.
    pub fn responded(self, agency: &str) -> Self {
        self.then(liaison(agency), EventBody::Responded(response_text()))
    }

    /// The complainant's feedback, recorded by UPP.
    pub fn feedback(self, satisfied: bool) -> Self {
        self.then(upp(), EventBody::FeedbackReceived(feedback(satisfied)))
    }

    /// Reopened by UPP after a dissatisfied complainant.
    pub fn reopened(self) -> Self {
        self.then(upp(), EventBody::Reopened(reopening()))
    }

    /// The complainant withdrew, as UPP recorded.
    pub fn withdrawn(self) -> Self {
        self.then(upp(), EventBody::Withdrawn(withdrawal()))
    }

    /// Closed by UPP after positive feedback.
    pub fn closed(self) -> Self {
        self.then(
            upp(),
            EventBody::Closed(ClosingRecord {
                reason: ClosingReason::Settled,
                note: None,
            }),
        )
    }
}
