//! `aduan demo`: a scripted three weeks of complaints in Kabupaten Kapuas, walked through
//! the SOP into the store, so a new user sees every part of the workflow at once.
//!
//! The script is written for three weeks ending Monday 21 December 2026 (WIB), and is
//! moved by whole weeks so that it ends on the last Monday on or before the day it runs
//! (`--ends` names another day): right after it, `aduan sla` shows a board as of now
//! with work due and overdue. Only weeks whose every weekday is a working day are
//! chosen, so that the working-day clocks run as written. It carries its own clock and
//! command ids: for a given day the output is the same on every run, and running it
//! again on a database that holds it changes nothing (it replays the weeks it was
//! loaded with).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use workflow_core::complainant::{Complainant, Confidentiality, PersonalData};
use workflow_core::complaint::command::{
    Addressee, ArchiveReason, Archiving, BeritaAcara, BreachAnnulment, Clarification, Closure,
    ComplaintCommand as C, Disposition, Feedback, FieldVisit, Forwarding, IdentityErasure,
    ImportedDisposition, InformationReply, InformationRequest, LaporImport, Party, ProgressReport,
    Reassignment, Registration, Rejection, Reopening, ResponseChannel, ResponseText, ReturnNote,
    ReviewResult, Withdrawal,
};
use workflow_core::evidence::EvidenceRef;
use workflow_core::{Actor, CommandEnvelope, Complaint, Role, Step, TimeZoneSpec};
use workflow_store::agency::{AgencyDetails, AgencyHead, AgencyZone};
use workflow_store::views::ComplaintFilter;
use workflow_store::{Refusal, Store, StoreError};

use crate::format::{local, sla_table, timeline_table, zone_label};
use crate::table::Table;

/// The script's last instant, as written.
const END: &str = "2026-12-21 10:00";
/// The script's first day (a complaint carried over from November) and its last.
const FIRST_DAY: &str = "2026-11-16";
const LAST_DAY: &str = "2026-12-21";
/// The first command, whose instant tells the weeks a stored demo was loaded with.
const FIRST_COMPLAINT: &str = "ADU-2026-0001";
const FIRST_AT: &str = "2026-11-30 08:30";

/// Months in Roman numerals, as BA numbers carry them.
const ROMAWI: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// How far the script is moved: whole weeks, so every weekday stays what it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    weeks: i64,
}

impl Shift {
    /// The weeks that end on the last Monday on or before `day` whose span has no
    /// holiday (every weekday a working day in `calendar`); the script's own weeks if
    /// none in the two years before does.
    pub fn ending_by(day: NaiveDate, calendar: &workflow_core::WorkingCalendar) -> Shift {
        let weeks = (day - self::day(LAST_DAY)).num_days().div_euclid(7);
        (0..=104)
            .map(|back| Shift {
                weeks: weeks - back,
            })
            .find(|s| s.is_quiet(calendar))
            .unwrap_or(Shift { weeks: 0 })
    }

    /// Whether every weekday of the moved span is a working day and no weekend day is
    /// one: working-day clocks then run exactly as in the script's own weeks.
    pub fn is_quiet(&self, calendar: &workflow_core::WorkingCalendar) -> bool {
        let (first, last) = (self.day(FIRST_DAY), self.day(LAST_DAY));
        first.iter_days().take_while(|d| *d <= last).all(|d| {
            let weekday = d.weekday().num_days_from_monday() < 5;
            calendar.is_working_day(d) == weekday
        })
    }

    /// The last day of the moved weeks.
    pub fn last_day(&self) -> NaiveDate {
        self.day(LAST_DAY)
    }

    fn offset(&self) -> chrono::Duration {
        chrono::Duration::weeks(self.weeks)
    }

    /// A script instant (WIB), moved.
    fn at(&self, local: &str) -> DateTime<Utc> {
        wib(local) + self.offset()
    }

    /// A script date, moved.
    fn day(&self, date: &str) -> NaiveDate {
        day(date) + self.offset()
    }

    /// A script date, moved, as Indonesian prose: `7 Desember 2026`.
    fn tgl(&self, date: &str) -> String {
        crate::format::tanggal(self.day(date))
    }

    /// With its weekday and without its year: `Kamis 3 Desember`.
    fn hari_tgl(&self, date: &str) -> String {
        let d = self.day(date);
        format!(
            "{} {} {}",
            crate::format::hari(d),
            d.day(),
            crate::format::BULAN[d.month0() as usize]
        )
    }

    /// As digits: `10/12/2026`.
    fn numeric(&self, date: &str) -> String {
        self.day(date).format("%d/%m/%Y").to_string()
    }

    /// A BA number dated by its month in Roman numerals: `BA/045/PUPR/XII/2026`.
    fn ba_number(&self, prefix: &str, date: &str) -> String {
        let d = self.day(date);
        format!("{prefix}/{}/{}", ROMAWI[d.month0() as usize], d.year())
    }

    /// The demo's command ids: those of the script's own weeks as they always were, so
    /// a database loaded by an earlier version replays as done.
    fn command_id(&self, n: usize) -> String {
        match self.weeks {
            0 => format!("demo-{n}"),
            _ => format!("demo-{}-{n}", self.last_day()),
        }
    }
}

/// The agencies the script disposes to, registered before it runs (the host disposes
/// only to registered agencies). PUPR's entry is the one the README's tour adds, so
/// that adding it there after the demo changes nothing.
fn agencies() -> Vec<(&'static str, AgencyDetails)> {
    let wib = |name: &str| AgencyDetails {
        time_zone: Some(AgencyZone::Wib),
        ..AgencyDetails::named(name)
    };
    vec![
        ("BPBD", wib("Badan Penanggulangan Bencana Daerah")),
        ("DINKES", wib("Dinas Kesehatan")),
        ("DISDAG", wib("Dinas Perdagangan")),
        ("DISDIK", wib("Dinas Pendidikan")),
        ("DISHUB", wib("Dinas Perhubungan")),
        ("DLH", wib("Dinas Lingkungan Hidup")),
        (
            "PUPR",
            AgencyDetails {
                head: Some(AgencyHead {
                    name: "Ir. Hendra Wijaya, M.T.".into(),
                    nip: "197205121998031004".into(),
                }),
                ..wib("Dinas Pekerjaan Umum dan Penataan Ruang")
            },
        ),
        ("SATPOLPP", wib("Satuan Polisi Pamong Praja")),
    ]
}

/// Registers the script's agencies; one the operator registered already, with other
/// details or retired, is left as the operator has it.
async fn register_agencies(store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    for (code, details) in agencies() {
        match store.register_agency(code, &details, now).await {
            Ok(_)
            | Err(StoreError::Refused(Refusal::AgencyExists(_) | Refusal::RetiredAgency(_))) => {}
            Err(e) => return Err(anyhow::anyhow!("registering agency {code}: {e}")),
        }
    }
    Ok(())
}

fn wib(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect("script time");
    TimeZoneSpec::jakarta()
        .offset()
        .from_local_datetime(&naive)
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("script date")
}

fn upp() -> Actor {
    Actor::new("sari.upp", Role::Upp)
}

fn liaison(agency: &str) -> Actor {
    Actor::of_agency(
        format!("penghubung.{}", agency.to_lowercase()),
        Role::Liaison,
        agency,
    )
}

fn coordinator() -> Actor {
    Actor::new("ketua.tim", Role::Coordinator)
}

fn head(agency: &str) -> Actor {
    Actor::of_agency(
        format!("kepala.{}", agency.to_lowercase()),
        Role::Head,
        agency,
    )
}

fn evidence(what: &str, media_type: &str, size: u64) -> EvidenceRef {
    EvidenceRef {
        sha256: Sha256::digest(what.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        media_type: media_type.into(),
        size,
        caption: what.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn registration(
    lapor_id: &str,
    reported: DateTime<Utc>,
    title: &str,
    description: &str,
    category: &str,
    location: &str,
    complainant: &str,
    confidentiality: Confidentiality,
    review: &str,
) -> C {
    C::Register(report(
        lapor_id,
        reported,
        title,
        description,
        category,
        location,
        complainant,
        confidentiality,
        review,
    ))
}

/// A report as LAPOR! holds it.
#[allow(clippy::too_many_arguments)]
fn report(
    lapor_id: &str,
    reported: DateTime<Utc>,
    title: &str,
    description: &str,
    category: &str,
    location: &str,
    complainant: &str,
    confidentiality: Confidentiality,
    review: &str,
) -> Registration {
    Registration {
        lapor_id: lapor_id.into(),
        title: title.into(),
        description: description.into(),
        category: category.into(),
        location: Some(location.into()),
        reported_at: reported,
        complainant: Complainant::plain(
            PersonalData {
                name: complainant.into(),
                phone: Some("+62 813 5000 0000".into()),
                ..PersonalData::default()
            },
            confidentiality,
        ),
        upp_review: review.into(),
        attachments: vec![],
    }
}

/// A registration as imported from LAPOR!, which had disposed it to `agency` at `at`.
fn imported(registration: Registration, at: DateTime<Utc>, agency: &str) -> C {
    C::Import(LaporImport {
        registration,
        channel: Some("aplikasi".into()),
        lapor_status: workflow_core::LaporStatus::InFollowUp,
        disposed: Some(ImportedDisposition {
            disposition: disposition_to(agency, None),
            at,
        }),
    })
}

fn dispose(agency: &str) -> C {
    dispose_to_unit(agency, None)
}

fn dispose_to_unit(agency: &str, sub_unit: Option<&str>) -> C {
    C::Dispose(disposition_to(agency, sub_unit))
}

fn disposition_to(agency: &str, sub_unit: Option<&str>) -> Disposition {
    Disposition {
        agency: agency.into(),
        liaison_officer: liaison(agency).user,
        sub_unit: sub_unit.map(str::to_owned),
        note: Some("Mohon ditindaklanjuti dalam 3 hari kerja".into()),
    }
}

fn progress(text: &str) -> C {
    C::ReportProgress(ProgressReport { text: text.into() })
}

fn feedback(satisfied: bool, text: &str) -> C {
    C::RecordFeedback(Feedback {
        satisfied,
        text: text.into(),
    })
}

fn review_complete(notes: &str) -> C {
    C::Review(ReviewResult {
        complete: true,
        clear: true,
        missing_items: vec![],
        notes: notes.into(),
    })
}

fn review_missing(missing: &str, clear: bool) -> C {
    C::Review(ReviewResult {
        complete: false,
        clear,
        missing_items: vec![missing.into()],
        notes: if clear {
            "Laporan jelas; data dukung belum lengkap".into()
        } else {
            "Data dukung belum lengkap dan maksud laporan tidak jelas".into()
        },
    })
}

fn clarify(field: bool, reasoning: &str) -> C {
    C::Clarify(Clarification {
        field_examination_needed: field,
        reasoning: reasoning.into(),
    })
}

fn respond(text: &str) -> C {
    C::Respond(ResponseText {
        response: text.into(),
        channel: ResponseChannel::Lapor,
    })
}

fn party(name: &str, position: &str, unit: &str) -> Party {
    Party {
        name: name.into(),
        position: position.into(),
        unit: Some(unit.into()),
        nip: None,
    }
}

/// A civil servant, who signs with their NIP.
fn official(name: &str, position: &str, unit: &str, nip: &str) -> Party {
    Party {
        nip: Some(nip.into()),
        ..party(name, position, unit)
    }
}

/// One scripted request: when, on which complaint, by whom, what.
struct Scripted {
    at: &'static str,
    complaint: &'static str,
    actor: Actor,
    command: C,
}

fn s(at: &'static str, complaint: &'static str, actor: Actor, command: C) -> Scripted {
    Scripted {
        at,
        complaint,
        actor,
        command,
    }
}

/// The demo's three weeks, one line a command. Many lines read alike (a registration,
/// a disposition, a review with other values): it is a script of data, kept flat on
/// purpose so that it reads as the story it tells.
fn script(t: &Shift) -> Vec<Scripted> {
    use Confidentiality::*;
    let road = "ADU-2026-0001";
    let lights = "ADU-2026-0002";
    let clinic = "ADU-2026-0003";
    let school = "ADU-2026-0004";
    let drain = "ADU-2026-0005";
    let bus = "ADU-2026-0006";
    let pothole_again = "ADU-2026-0007";
    let noise = "ADU-2026-0008";
    let national_road = "ADU-2026-0009";
    let market = "ADU-2026-0010";
    let fallen_tree = "ADU-2026-0011";
    let bridge = "ADU-2026-0012";
    let street_vendors = "ADU-2026-0013";
    // Imported: the LAPOR! tracking number is its id, as `aduan import lapor` makes it.
    let drainage = "LAP-2026-12-000102";
    let road_photo = evidence(
        "Lubang di depan SDN 3 Selat, diukur dengan meteran",
        "image/jpeg",
        512_044,
    );
    let road_scan = evidence(
        "Daftar hadir pemeriksaan lapangan",
        "application/pdf",
        88_120,
    );
    let clinic_photo = evidence(
        "Ruang tunggu Puskesmas Selat pukul 08.00",
        "image/jpeg",
        431_907,
    );
    vec![
        // A pothole: the whole SOP, with a field examination and a BA.
        s("2026-11-30 08:30", road, upp(), registration(
            "LAP-2026-11-000451", t.at("2026-11-29 20:15"), "Jalan berlubang di depan SDN 3 Selat",
            "Lubang besar di Jl. Tambun Bungai membahayakan anak sekolah yang menyeberang.",
            "infrastruktur", "Jl. Tambun Bungai, Selat, Kuala Kapuas", "Budi Santoso", Public,
            "Jalan kabupaten; kewenangan Dinas PUPR. Foto dari pelapor terlampir di LAPOR!.")),
        s("2026-11-30 10:00", road, upp(), dispose("PUPR")),
        s("2026-12-01 09:15", road, liaison("PUPR"), review_complete("Lokasi dan foto jelas")),
        s("2026-12-01 14:00", road, liaison("PUPR"), clarify(true, "Perlu diukur dan dicek drainase")),
        s("2026-12-02 10:00", road, liaison("PUPR"), progress(
            &format!("Aduan diterima Dinas PUPR; peninjauan lapangan dijadwalkan {}.", t.tgl("2026-12-03")))),
        s("2026-12-03 11:30", road, liaison("PUPR"), C::VerifyInField(FieldVisit {
            visit_date: t.day("2026-12-03"),
            location: "Jl. Tambun Bungai depan SDN 3 Selat".into(),
            parties_summoned: vec![party("Rahmat", "Kepala Seksi Pemeliharaan Jalan", "Bidang Bina Marga")],
            parties_confirmed: vec![party("Rahmat", "Kepala Seksi Pemeliharaan Jalan", "Bidang Bina Marga")],
            findings: "Lubang 1,2 x 0,8 m, dalam 25 cm; saluran drainase tersumbat sampah".into(),
            evidence: vec![road_photo, road_scan],
        })),
        s("2026-12-04 09:00", road, liaison("PUPR"), C::IssueBa(BeritaAcara {
            number: t.ba_number("BA/045/PUPR", "2026-12-04"),
            date: t.day("2026-12-04"),
            addressee: Addressee {
                name: "Ir. Hendra Wijaya, M.T.".into(),
                position: "Kepala Dinas PUPR Kabupaten Kapuas".into(),
                agency: "PUPR".into(),
                nip: Some("19700512 199803 1 007".into()),
            },
            signatories: vec![
                official("Andi Pratama", "Pejabat Penghubung", "Dinas PUPR", "19850317 201001 1 004"),
                official("Rahmat", "Kepala Seksi Pemeliharaan Jalan", "Bidang Bina Marga", "19780904 200501 1 012"),
            ],
            findings: "Lubang dan drainase tersumbat terkonfirmasi di lokasi".into(),
            conclusion: "Perlu penambalan darurat dan normalisasi saluran".into(),
            solution: format!("Penambalan {}; normalisasi saluran pekan berikutnya", t.tgl("2026-12-07")),
            place: Some("Kuala Kapuas".into()),
        })),
        s("2026-12-04 11:00", road, head("PUPR"), C::AcknowledgeBa(
            workflow_core::complaint::command::BaAcknowledgement {
                note: Some("Laksanakan penambalan dan laporkan hasilnya".into()),
            })),
        s("2026-12-04 13:00", road, liaison("PUPR"), respond(
            &format!("Terima kasih. Lubang ditambal {} dan saluran dibersihkan pekan berikutnya.", t.tgl("2026-12-07")))),
        s("2026-12-08 09:00", road, upp(), feedback(true, "Sudah ditambal, terima kasih")),
        s("2026-12-08 09:30", road, upp(), C::Close(Closure {
            note: Some("Pelapor puas".into()),
        })),
        // Street lights: first sent to the wrong agency, returned, re-disposed.
        s("2026-11-30 09:10", lights, upp(), registration(
            "LAP-2026-11-000457", t.at("2026-11-30 06:40"), "Lampu penerangan jalan padam",
            "Tiga lampu PJU di Jl. Pemuda padam sejak seminggu; rawan kecelakaan malam hari.",
            "penerangan", "Jl. Pemuda km 2, Kuala Kapuas", "Siti Rahmah", Anonymous,
            "Penerangan jalan umum.")),
        s("2026-11-30 10:20", lights, upp(), dispose("PUPR")),
        s("2026-12-01 08:40", lights, liaison("PUPR"), C::ReturnForRedisposition(ReturnNote {
            reason: "PJU dikelola Dinas Perhubungan, bukan PUPR".into(),
            suggested_agency: Some("DISHUB".into()),
        })),
        s("2026-12-01 10:00", lights, upp(), dispose("DISHUB")),
        s("2026-12-02 09:30", lights, liaison("DISHUB"), review_complete("Titik lampu jelas")),
        s("2026-12-02 10:00", lights, liaison("DISHUB"), clarify(false, "Lampu masuk jadwal penggantian rutin")),
        s("2026-12-03 15:00", lights, liaison("DISHUB"), respond(&format!("Lampu diganti {} oleh tim PJU Dishub.", t.tgl("2026-12-05")))),
        // The complainant is not satisfied: UPP reopens, the liaison follows up again.
        s("2026-12-07 09:00", lights, upp(), feedback(false, "Baru satu dari tiga lampu yang menyala")),
        s("2026-12-07 09:30", lights, upp(), C::Reopen(Reopening {
            reason: "Dua lampu PJU masih padam menurut pelapor".into(),
        })),
        s("2026-12-08 09:00", lights, liaison("DISHUB"), review_complete("Dua titik lampu masih padam")),
        s("2026-12-08 09:30", lights, liaison("DISHUB"), clarify(false, "Penggantian dua lampu tersisa")),
        s("2026-12-08 10:00", lights, liaison("DISHUB"), progress(
            &format!("Dua lampu tersisa masuk jadwal penggantian {}.", t.tgl("2026-12-10")))),
        s("2026-12-10 14:00", lights, liaison("DISHUB"), respond(&format!("Ketiga lampu PJU di Jl. Pemuda menyala sejak {}.", t.tgl("2026-12-10")))),
        // A health-service complaint waiting for the complainant, then in step 3.
        s("2026-12-07 08:45", clinic, upp(), registration(
            "LAP-2026-12-000023", t.at("2026-12-06 19:02"), "Antrean Puskesmas Selat sangat lama",
            "Pasien menunggu lebih dari 4 jam tanpa kepastian; loket dibuka terlambat.",
            "kesehatan", "Puskesmas Selat, Kuala Kapuas", "Nur Aini", Confidential,
            "Pelayanan puskesmas; kewenangan Dinas Kesehatan.")),
        s("2026-12-07 11:00", clinic, upp(), dispose_to_unit("DINKES", Some("UPT Puskesmas Selat"))),
        s("2026-12-08 09:00", clinic, liaison("DINKES"), review_missing("tanggal dan jam kunjungan", true)),
        s("2026-12-08 09:30", clinic, liaison("DINKES"), C::RequestInformation(InformationRequest {
            questions: vec!["Pada tanggal dan jam berapa Anda berkunjung?".into()],
        })),
        s("2026-12-10 16:00", clinic, upp(), C::ProvideInformation(InformationReply {
            answer: format!("{}, datang 07.30, dilayani 11.45", t.hari_tgl("2026-12-03")),
            attachments: vec![],
        })),
        s("2026-12-11 09:00", clinic, liaison("DINKES"), review_complete("Waktu kunjungan sudah jelas")),
        s("2026-12-14 10:00", clinic, liaison("DINKES"), clarify(true, "Perlu pengecekan jam buka loket")),
        s("2026-12-18 08:15", clinic, liaison("DINKES"), C::VerifyInField(FieldVisit {
            visit_date: t.day("2026-12-18"),
            location: "Puskesmas Selat".into(),
            parties_summoned: vec![party("dr. Maya Lestari", "Kepala Puskesmas", "Puskesmas Selat")],
            parties_confirmed: vec![],
            findings: "Loket dibuka 08.10, jadwal resmi 07.30; satu petugas pendaftaran".into(),
            evidence: vec![clinic_photo],
        })),
        // A school-fee complaint never completed by the complainant: rejected.
        s("2026-12-01 13:00", school, upp(), registration(
            "LAP-2026-12-000002", t.at("2026-12-01 07:55"), "Pungutan di sekolah",
            "Ada pungutan tidak jelas.",
            "pendidikan", "Kuala Kapuas", "Anonim", Confidential,
            "Dugaan pungutan; lokasi sekolah belum disebut.")),
        s("2026-12-01 15:00", school, upp(), dispose("DISDIK")),
        s("2026-12-02 10:00", school, liaison("DISDIK"), review_missing("nama sekolah dan besaran pungutan", false)),
        s("2026-12-02 10:30", school, liaison("DISDIK"), C::RequestInformation(InformationRequest {
            questions: vec!["Sekolah mana dan berapa besar pungutannya?".into()],
        })),
        s("2026-12-16 09:00", school, liaison("DISDIK"), C::Reject(Rejection {
            reason: "Aduan tidak lengkap dan tidak jelas; pelapor tidak menanggapi 10 hari kerja".into(),
        })),
        // Clogged drains: disposed, and the agency never reviews it.
        s("2026-12-08 08:30", drain, upp(), registration(
            "LAP-2026-12-000031", t.at("2026-12-07 21:10"), "Saluran air tersumbat, banjir saat hujan",
            "Setiap hujan, air meluap ke rumah warga di Gang Mawar.",
            "infrastruktur", "Gg. Mawar, Selat Hilir", "Hendra", Public,
            "Drainase lingkungan; kewenangan Dinas PUPR.")),
        s("2026-12-08 10:00", drain, upp(), dispose("PUPR")),
        // Its liaison officer is on leave: the head of PUPR hands it to a colleague.
        s("2026-12-14 08:00", drain, head("PUPR"), C::Reassign(Reassignment {
            liaison_officer: "penghubung2.pupr".into(),
            reason: format!("Pejabat penghubung sedang cuti sampai {}", t.tgl("2026-12-18")),
        })),
        // The first follow-up was posted straight into LAPOR!; the coordinator annuls
        // the follow-up breach the engine recorded.
        s("2026-12-17 09:00", drain, coordinator(), C::AnnulBreach(BreachAnnulment {
            step: Step::FollowUp,
            occurrence: 1,
            reason: format!("Tindak lanjut sementara diunggah langsung di LAPOR! {}", t.tgl("2026-12-15")),
        })),
        // A fallen tree: three agencies send it back in turn; the coordinator decides.
        s("2026-12-09 07:30", fallen_tree, upp(), registration(
            "LAP-2026-12-000052", t.at("2026-12-09 06:10"), "Pohon tumbang menutup jalan",
            "Pohon besar tumbang di Jl. Cilik Riwut sejak subuh dan menutup satu lajur.",
            "lingkungan", "Jl. Cilik Riwut km 1, Kuala Kapuas", "Agus", Public,
            "Pohon tumbang di jalan kabupaten.")),
        s("2026-12-09 08:00", fallen_tree, upp(), dispose("PUPR")),
        s("2026-12-09 10:00", fallen_tree, liaison("PUPR"), C::ReturnForRedisposition(ReturnNote {
            reason: "Pohon peneduh jalan dikelola Dinas Lingkungan Hidup".into(),
            suggested_agency: Some("DLH".into()),
        })),
        s("2026-12-09 11:00", fallen_tree, upp(), dispose("DLH")),
        s("2026-12-09 14:00", fallen_tree, liaison("DLH"), C::ReturnForRedisposition(ReturnNote {
            reason: "Penanganan darurat pohon tumbang adalah tugas BPBD".into(),
            suggested_agency: Some("BPBD".into()),
        })),
        s("2026-12-09 15:00", fallen_tree, upp(), dispose("BPBD")),
        s("2026-12-10 08:00", fallen_tree, liaison("BPBD"), C::ReturnForRedisposition(ReturnNote {
            reason: "Bukan bencana; pemeliharaan pohon tugas DLH".into(),
            suggested_agency: Some("DLH".into()),
        })),
        s("2026-12-10 09:00", fallen_tree, coordinator(), C::Dispose(Disposition {
            agency: "DLH".into(),
            liaison_officer: liaison("DLH").user,
            sub_unit: Some("UPT Pertamanan".into()),
            note: Some("Keputusan Ketua Tim Koordinasi: ditangani DLH, dibantu BPBD".into()),
        })),
        s("2026-12-10 13:00", fallen_tree, liaison("DLH"), progress(
            "Tim UPT Pertamanan memotong dan mengangkut pohon; jalan dibuka kembali pukul 12.30.")),
        // A footbridge: checked in the field, the BA waits for the head of PUPR.
        s("2026-12-16 08:00", bridge, upp(), registration(
            "LAP-2026-12-000090", t.at("2026-12-15 19:20"), "Jembatan titian lapuk",
            "Papan jembatan titian di Desa Anjir Serapat lapuk; anak sekolah memutar 3 km.",
            "infrastruktur", "Desa Anjir Serapat, Kapuas Timur", "Hadi", Public,
            "Jembatan desa; kewenangan Dinas PUPR.")),
        s("2026-12-16 09:00", bridge, upp(), dispose("PUPR")),
        s("2026-12-16 13:00", bridge, liaison("PUPR"), review_complete("Lokasi jelas, ada foto dari pelapor")),
        s("2026-12-17 09:00", bridge, liaison("PUPR"), clarify(true, "Kondisi papan perlu dilihat langsung")),
        s("2026-12-18 10:00", bridge, liaison("PUPR"), C::VerifyInField(FieldVisit {
            visit_date: t.day("2026-12-18"),
            location: "Jembatan titian Desa Anjir Serapat".into(),
            parties_summoned: vec![party("Yusran", "Kepala Desa", "Desa Anjir Serapat")],
            parties_confirmed: vec![party("Yusran", "Kepala Desa", "Desa Anjir Serapat")],
            findings: "Enam papan lapuk di bentang tengah; tiang masih kokoh".into(),
            evidence: vec![evidence("Papan lapuk di bentang tengah", "image/jpeg", 402_118)],
        })),
        s("2026-12-18 14:00", bridge, liaison("PUPR"), C::IssueBa(BeritaAcara {
            number: t.ba_number("BA/051/PUPR", "2026-12-18"),
            date: t.day("2026-12-18"),
            addressee: Addressee {
                name: "Ir. Hendra Wijaya, M.T.".into(),
                position: "Kepala Dinas PUPR Kabupaten Kapuas".into(),
                agency: "PUPR".into(),
                nip: Some("19700512 199803 1 007".into()),
            },
            signatories: vec![
                official("Andi Pratama", "Pejabat Penghubung", "Dinas PUPR", "19850317 201001 1 004"),
                party("Yusran", "Kepala Desa", "Desa Anjir Serapat"),
            ],
            findings: "Enam papan lapuk terkonfirmasi di lokasi".into(),
            conclusion: "Papan perlu diganti".into(),
            solution: "Penggantian papan oleh UPT Jalan dan Jembatan dalam 14 hari".into(),
            place: Some("Kuala Kapuas".into()),
        })),
        // Street vendors on a pavement: sent back by three agencies; it waits for the
        // coordinator's decision.
        s("2026-12-18 08:00", street_vendors, upp(), registration(
            "LAP-2026-12-000093", t.at("2026-12-17 16:45"), "Pedagang menutup trotoar",
            "Lapak pedagang menutup trotoar di depan pasar; pejalan kaki turun ke jalan.",
            "ketertiban", "Jl. Pemuda, Kuala Kapuas", "Wulan", Anonymous,
            "Ketertiban trotoar.")),
        s("2026-12-18 08:30", street_vendors, upp(), dispose("DISDAG")),
        s("2026-12-18 10:00", street_vendors, liaison("DISDAG"), C::ReturnForRedisposition(ReturnNote {
            reason: "Penertiban trotoar tugas Satpol PP".into(),
            suggested_agency: Some("SATPOLPP".into()),
        })),
        s("2026-12-18 11:00", street_vendors, upp(), dispose("SATPOLPP")),
        s("2026-12-18 14:00", street_vendors, liaison("SATPOLPP"), C::ReturnForRedisposition(ReturnNote {
            reason: "Perlu penataan lapak oleh Dinas Perdagangan lebih dulu".into(),
            suggested_agency: Some("DISDAG".into()),
        })),
        s("2026-12-18 15:00", street_vendors, upp(), dispose("PUPR")),
        s("2026-12-21 08:30", street_vendors, liaison("PUPR"), C::ReturnForRedisposition(ReturnNote {
            reason: "Trotoar baik; masalahnya penertiban, bukan pekerjaan umum".into(),
            suggested_agency: Some("SATPOLPP".into()),
        })),
        // A bus-stop complaint registered on Friday and not yet disposed.
        s("2026-12-18 15:30", bus, upp(), registration(
            "LAP-2026-12-000077", t.at("2026-12-18 12:00"), "Halte bus rusak",
            "Atap halte di depan pasar rusak dan bocor.",
            "perhubungan", "Pasar Kapuas", "Yanti", Anonymous,
            "Sarana halte; kewenangan Dinas Perhubungan.")),
        // The same pothole reported again by a neighbour: archived at the door.
        s("2026-12-01 10:00", pothole_again, upp(), registration(
            "LAP-2026-12-000009", t.at("2026-11-30 21:40"), "Lubang jalan depan SDN 3",
            "Jalan di depan SDN 3 Selat berlubang besar.",
            "infrastruktur", "Jl. Tambun Bungai, Selat", "Rina", Public,
            "Sama dengan LAP-2026-11-000451.")),
        s("2026-12-01 10:05", pothole_again, upp(), C::Archive(Archiving {
            reason: ArchiveReason::Duplicate,
            duplicate_of: Some(road.into()),
            note: Some("Laporan yang sama; pelapor diberi tahu nomor aduan induk".into()),
        })),
        // Noise from a workshop: disposed, then withdrawn by the complainant.
        s("2026-12-09 09:00", noise, upp(), registration(
            "LAP-2026-12-000041", t.at("2026-12-08 22:30"), "Bengkel bising malam hari",
            "Bengkel las di Jl. Seroja bekerja sampai tengah malam.",
            "ketertiban", "Jl. Seroja, Kuala Kapuas", "Yusuf", Anonymous,
            "Ketertiban umum; kewenangan Satpol PP.")),
        s("2026-12-09 11:00", noise, upp(), dispose("SATPOLPP")),
        s("2026-12-10 08:30", noise, upp(), C::Withdraw(Withdrawal {
            note: "Pelapor menelepon: sudah berdamai dengan pemilik bengkel".into(),
        })),
        // The complainant then asks for their data to be erased (UU 27/2022): the key
        // goes, the history stays.
        s("2026-12-11 10:00", noise, upp(), C::EraseIdentity(IdentityErasure {
            legal_basis: format!("Permintaan penghapusan oleh pelapor melalui telepon {}; Pasal 8 UU 27/2022", t.numeric("2026-12-10")),
        })),
        // Carried over from November: the complainant never answers the liaison's
        // question, and after 30 days the SLA monitor records the complaint as withdrawn.
        s("2026-11-16 09:00", market, upp(), registration(
            "LAP-2026-11-000388", t.at("2026-11-15 19:30"), "Pungutan retribusi pasar",
            "Pedagang ditarik retribusi dua kali sehari di pasar.",
            "retribusi", "Pasar Kapuas", "Anonim", Confidential,
            "Retribusi pasar; kewenangan Dinas Perdagangan.")),
        s("2026-11-16 10:00", market, upp(), dispose("DISDAG")),
        s("2026-11-17 09:00", market, liaison("DISDAG"), review_missing("nama pasar dan blok kios", true)),
        s("2026-11-17 09:30", market, liaison("DISDAG"), C::RequestInformation(InformationRequest {
            questions: vec!["Di pasar dan blok mana, dan kapan pungutan kedua ditarik?".into()],
        })),
        // A report LAPOR!'s admin had already disposed to Dinas Lingkungan Hidup when
        // the unit imported it: registered and disposed at LAPOR!'s dates, marked as
        // imported, then reviewed by the agency like any other.
        s("2026-12-15 08:00", drainage, upp(), imported(
            report(
                "LAP-2026-12-000102", t.at("2026-12-11 07:45"), "Saluran air tersumbat sampah",
                "Saluran di Jl. Seth Adji tersumbat sampah; air meluap ke jalan saat hujan.",
                "lingkungan", "Jl. Seth Adji, Kuala Kapuas", "Rina Wati", Anonymous,
                "Diimpor dari LAPOR!-SP4N; sudah didisposisikan ke Dinas Lingkungan Hidup."),
            t.at("2026-12-11 14:00"),
            "DLH",
        )),
        s("2026-12-15 13:00", drainage, liaison("DLH"), review_complete("Lokasi jelas, foto saluran dari pelapor cukup")),
        s("2026-12-15 14:00", drainage, liaison("DLH"), clarify(false, "Cukup dibersihkan oleh petugas kebersihan; tidak perlu pemeriksaan lapangan")),
        s("2026-12-16 10:00", drainage, liaison("DLH"), respond(&format!("Saluran di Jl. Seth Adji dibersihkan petugas DLH pada {}.", t.tgl("2026-12-16")))),
        // A national road: not the Pemkab's, forwarded at the door.
        s("2026-12-02 08:15", national_road, upp(), registration(
            "LAP-2026-12-000015", t.at("2026-12-01 17:05"), "Jembatan jalan nasional retak",
            "Jembatan di jalan nasional Kuala Kapuas - Palangka Raya km 12 retak.",
            "infrastruktur", "Jalan nasional km 12", "Darmawan", Public,
            "Jalan nasional; kewenangan Kementerian PU (BPJN).")),
        s("2026-12-02 09:00", national_road, upp(), C::Forward(Forwarding {
            institution: "Balai Pelaksanaan Jalan Nasional Kalimantan Tengah".into(),
            reason: "Jembatan di ruas jalan nasional".into(),
        })),
    ]
}

/// The weeks to load: those a demo already in `store` was loaded with, else the weeks
/// ending by `ends` (today when `None`).
async fn weeks(store: &Store, ends: Option<NaiveDate>) -> anyhow::Result<(Shift, bool)> {
    let first = store.engine().events(&FIRST_COMPLAINT.parse()?).await?;
    if let Some(registered) = first.first() {
        let moved = registered.payload.at - wib(FIRST_AT);
        let weeks = moved.num_weeks();
        if moved != chrono::Duration::weeks(weeks) {
            anyhow::bail!(
                "{FIRST_COMPLAINT} in this database is not the demo's: load the demo into a \
                 database of its own"
            );
        }
        return Ok((Shift { weeks }, true));
    }
    let today = ends.unwrap_or_else(|| {
        Utc::now()
            .with_timezone(&TimeZoneSpec::jakarta().offset())
            .date_naive()
    });
    Ok((
        Shift::ending_by(today, store.engine().services().calendar.as_ref()),
        false,
    ))
}

/// Runs the demo into `store` and prints a timeline, the list and the SLA clocks (or
/// JSON with `json`). Its weeks end by `ends` (default: today, WIB).
pub async fn run(store: &Store, json: bool, ends: Option<NaiveDate>) -> anyhow::Result<()> {
    let (shift, loaded_before) = weeks(store, ends).await?;
    if loaded_before {
        eprintln!(
            "aduan demo: this database holds the demo already, loaded for the weeks ending {}; \
             it is replayed as it was (nothing changes)",
            shift.last_day()
        );
    }
    let mut steps = script(&shift);
    steps.sort_by_key(|step| wib(step.at));
    let complaint_ids: Vec<&str> = {
        let mut ids: Vec<&str> = steps.iter().map(|s| s.complaint).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    // Registered as the story begins, before its first disposition.
    let begins = steps
        .first()
        .map_or_else(|| shift.at(END), |step| shift.at(step.at));
    register_agencies(store, begins).await?;
    let engine = store.engine();
    for (n, step) in steps.into_iter().enumerate() {
        let now = shift.at(step.at);
        // The SLA monitor runs before each request, as `serve`'s background tick would.
        store.projector().catch_up().await?;
        store.sla_tick(now).await?;
        let envelope = CommandEnvelope::new(shift.command_id(n + 1), step.actor, now, step.command);
        engine
            .execute(&step.complaint.parse()?, envelope, Some("aduan-demo"))
            .await
            .map_err(|e| {
                anyhow::anyhow!("demo step {} on {} refused: {e}", n + 1, step.complaint)
            })?;
    }
    let end = shift.at(END);
    let zone = store.engine().services().policy.time_zone.clone();
    store.projector().catch_up().await?;
    store.sla_tick(end).await?;
    store.projector().catch_up().await?;

    let mut report = Vec::new();
    for id in &complaint_ids {
        let typed = id.parse()?;
        let events = engine.events(&typed).await?;
        let state = Complaint::from_events(events.iter().map(|e| &e.payload));
        let sla = engine.assess(&typed, end).await?;
        report.push((id.to_string(), events, state, sla));
    }

    if json {
        let complaints: Vec<_> = report
            .iter()
            .map(|(id, events, state, sla)| {
                json!({
                    "id": id,
                    "status": state.status(),
                    "title": state.registration().map(|r| r.title.clone()),
                    "agency": state.agency(),
                    "events": events.iter().map(|e| json!({
                        "sequence": e.sequence,
                        "event_type": e.payload.body.event_type(),
                        "event_version": e.payload.body.event_version(),
                        "event": e.payload,
                        "metadata": e.metadata,
                    })).collect::<Vec<_>>(),
                    "sla": sla,
                })
            })
            .collect();
        let out = json!({ "as_of": end, "time_zone": "Asia/Jakarta", "complaints": complaints });
        crate::outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    crate::outln!(
        "aduan demo: {} complaints of Kabupaten Kapuas, scripted from {} to {} WIB, stored in the {:?} log (times below in {}).\n",
        report.len(),
        shift.day("2026-11-30").format("%a %d %b"),
        shift.at(END).with_timezone(&TimeZoneSpec::jakarta().offset()).format("%a %d %b %Y %H:%M"),
        store.backend(),
        zone_label(&zone)
    );
    if let Some((id, events, state, _)) = report.first() {
        let title = state.registration().map(|r| r.title.as_str()).unwrap_or("");
        crate::outln!("Timeline of {id}: {title} [{}]", state.status());
        crate::outln!("{}", timeline_table(events, &zone));
    }
    let page = store
        .views()
        .list(&ComplaintFilter {
            limit: Some(500),
            ..ComplaintFilter::default()
        })
        .await?;
    let mut t = Table::new(&["complaint", "status", "agency", "events", "title"]);
    for s in page
        .items
        .iter()
        .rev()
        .filter(|s| complaint_ids.contains(&s.complaint_id.as_str()))
    {
        t.row(vec![
            s.complaint_id.to_string(),
            s.status.to_string(),
            s.agency
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            s.sequence.to_string(),
            s.title.clone(),
        ]);
    }
    crate::outln!("All complaints (from the complaint view)\n{}", t.render());
    let t = sla_table(
        &zone,
        report
            .iter()
            .map(|(id, _, _, sla)| (id.as_str(), sla.as_slice())),
    );
    crate::outln!(
        "SLA clocks as of {} {}\n{}",
        local(end, &zone),
        zone_label(&zone),
        t.render()
    );
    crate::outln!(
        "Next: `aduan sla` shows the board as of now, `aduan sla --at {}` as of the demo's end, `aduan history ADU-2026-0003 --as-of {}` the past.",
        end.format("%Y-%m-%dT%H:%M:%SZ"),
        shift.at("2026-12-09 07:00").format("%Y-%m-%dT%H:%M:%SZ")
    );
    Ok(())
}

/// The demo's people in the web console: each signs in as the actor the script acts
/// as, so that every screen shows the demo's complaints. Prints their set-password links.
pub async fn people(store: &Store, base_url: &str, json: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut everyone = vec![upp(), coordinator(), Actor::new("auditor.apip", Role::Apip)];
    for (code, _) in agencies() {
        everyone.push(liaison(code));
        everyone.push(head(code));
    }
    let mut rows = Vec::new();
    for actor in everyone {
        let exists = store
            .people()
            .await?
            .iter()
            .any(|p| p.actor.user == actor.user);
        let secret = if exists {
            store.renew_password_link(&actor.user.0, now).await?
        } else {
            store.add_person(&actor, now).await?
        };
        let link = crate::users::link(base_url, &secret);
        rows.push((actor, link));
    }
    if json {
        let people: Vec<_> = rows
            .iter()
            .map(|(a, link)| json!({"user": a.user, "role": a.role, "agency": a.agency, "set_password_link": link}))
            .collect();
        crate::outln!("{}", json!({ "people": people }));
        return Ok(());
    }
    let mut t = Table::new(&[
        "user",
        "role",
        "agency",
        "set-password link (72 hours, once)",
    ]);
    for (a, link) in rows {
        t.row(vec![
            a.user.to_string(),
            a.role.to_string(),
            a.agency.map_or_else(|| "-".into(), |c| c.to_string()),
            link,
        ]);
    }
    crate::outln!(
        "\nThe demo's people in the web console: open a link, choose a password, sign in at {}/konsol\n{}",
        base_url.trim_end_matches('/'),
        t.render()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_core::WorkingCalendar;

    /// For every day the shipped table covers, the weeks chosen end on a Monday on or
    /// before it, hold no holiday, and are the latest such weeks.
    #[test]
    fn the_weeks_chosen_are_the_latest_quiet_ones_on_or_before_the_day() {
        let calendar = WorkingCalendar::builtin();
        assert!(
            Shift { weeks: 0 }.is_quiet(&calendar),
            "the script's own weeks hold no holiday"
        );
        let mut day = day("2024-01-01");
        let mut moved = 0;
        while day <= super::day("2027-12-31") {
            let shift = Shift::ending_by(day, &calendar);
            let last = shift.last_day();
            assert!(last <= day, "{day}: ends {last}");
            assert_eq!(last.weekday(), chrono::Weekday::Mon);
            assert!(shift.is_quiet(&calendar), "{day}");
            let mut later = last + chrono::Duration::weeks(1);
            while later <= day {
                let candidate = Shift {
                    weeks: shift.weeks + (later - last).num_weeks(),
                };
                assert!(
                    !candidate.is_quiet(&calendar),
                    "{day}: {later} was quiet too"
                );
                later += chrono::Duration::weeks(1);
            }
            moved += usize::from((day - last).num_days() >= 7);
            day += chrono::Duration::days(1);
        }
        assert!(moved > 0, "some days fall in weeks with holidays");
    }

    #[test]
    fn dates_in_the_script_are_moved_and_spelled_in_indonesian() {
        let s = Shift { weeks: -4 };
        assert_eq!(s.tgl("2026-12-07"), "9 November 2026");
        assert_eq!(s.hari_tgl("2026-12-03"), "Kamis 5 November");
        assert_eq!(s.numeric("2026-12-10"), "12/11/2026");
        assert_eq!(
            s.ba_number("BA/045/PUPR", "2026-12-04"),
            "BA/045/PUPR/XI/2026"
        );
        assert_eq!(s.command_id(3), "demo-2026-11-23-3");
        assert_eq!(Shift { weeks: 0 }.command_id(3), "demo-3");
    }
}
