//! The forms of the actions on a complaint: one table ([`ACTIONS`]) says each action's
//! fields, and one path runs them all.
//!
//! A form's fields are named as the API's request body names them (`addressee.name`
//! for a nested one); the console turns the form into that body, and the body into the
//! command exactly as the API does ([`ResolveCommand`], [`Citing`]), so a form and a
//! request are held to the same rules. A page offers an action's form when the domain
//! would accept the action from this person now: the console asks the domain itself,
//! with a sample of the command ([`offered`]), and never keeps a list of its own.

use std::collections::HashMap;

use axum::body::Bytes;
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use workflow_core::complaint::command::*;
use workflow_core::evidence::EvidenceRef;
use workflow_core::{Actor, AgencyCode, CommandEnvelope, Complaint, TimeZoneSpec, UserId};

use crate::http::caller::PathId;
use crate::http::dto::*;
use crate::http::error::ApiError;
use crate::http::evidence::{store_upload, UploadQuery};
use crate::http::AppState;

/// What kind of input a field is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// One line of text.
    Text,
    /// Several lines of text.
    Long,
    /// A list, one item per line.
    Lines,
    /// Yes or no.
    YesNo,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// A local date and time in the policy's zone.
    DateTime,
    /// One of fixed values: (value, label).
    Choice(&'static [(&'static str, &'static str)]),
    /// An agency in service, from the registry.
    Agency,
    /// People: name, position, unit, NIP, a few rows.
    Parties,
    /// Uploaded files cited as evidence (photos from the phone's camera when `photos`).
    Files { photos: bool },
    /// A scan of personal data, sealed with the complaint's key.
    PersonalScan,
    /// A recorded breach not annulled.
    Breach,
}

/// A field of a form.
pub(super) struct Field {
    /// The request body's name for it (`addressee.name`).
    pub key: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub hint: &'static str,
}

/// An action on a complaint.
pub(super) struct Action {
    /// Its path segment, the API's route name.
    pub slug: &'static str,
    pub title: &'static str,
    pub button: &'static str,
    /// It ends the complaint (or cannot be undone): the person confirms first.
    pub terminal: bool,
    /// What the confirmation says will happen.
    pub consequence: &'static str,
    pub fields: &'static [Field],
}

impl Action {
    /// Whether its form sends files.
    pub fn multipart(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(f.kind, Kind::Files { .. } | Kind::PersonalScan))
    }
}

const fn f(key: &'static str, label: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        key,
        label,
        kind,
        required,
        hint: "",
    }
}

const fn h(
    key: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    hint: &'static str,
) -> Field {
    Field {
        key,
        label,
        kind,
        required,
        hint,
    }
}

const ARCHIVE_REASONS: &[(&str, &str)] = &[
    ("not_public_service", "Bukan pelayanan publik"),
    ("out_of_authority", "Bukan kewenangan Pemkab"),
    ("spam", "Spam"),
    ("not_a_complaint", "Bukan aduan"),
    ("duplicate", "Duplikat aduan lain"),
];

const CHANNELS: &[(&str, &str)] = &[
    ("lapor", "LAPOR!-SP4N"),
    ("letter", "Surat"),
    ("email", "Surel"),
    ("phone", "Telepon / pesan"),
    ("in_person", "Tatap muka"),
];

const CONFIDENTIALITY: &[(&str, &str)] = &[
    (
        "confidential",
        "Rahasia (identitas dan laporan tidak publik)",
    ),
    (
        "anonymous",
        "Anonim (identitas disembunyikan dari perangkat daerah)",
    ),
    ("public", "Publik"),
];

/// Registering a complaint from LAPOR! (UPP's own page, not a complaint's).
pub(super) const REGISTER: Action = Action {
    slug: "register",
    title: "Daftarkan aduan dari LAPOR!",
    button: "Daftarkan",
    terminal: false,
    consequence: "",
    fields: &[
        f("lapor_id", "Nomor pelacakan LAPOR!", Kind::Text, true),
        h("id", "Nomor aduan", Kind::Text, false, "Kosongkan untuk memakai nomor LAPOR!"),
        f("title", "Judul", Kind::Text, true),
        f("description", "Isi aduan", Kind::Long, true),
        f("category", "Kategori", Kind::Text, true),
        f("location", "Lokasi", Kind::Text, false),
        h("reported_at", "Dilaporkan di LAPOR! pada", Kind::DateTime, true, "Tanggal dan jam setempat"),
        f("complainant.name", "Nama pelapor", Kind::Text, true),
        f("complainant.phone", "Telepon pelapor", Kind::Text, false),
        f("complainant.email", "Surel pelapor", Kind::Text, false),
        f("complainant.nik", "NIK pelapor", Kind::Text, false),
        f("complainant.address", "Alamat pelapor", Kind::Text, false),
        f("complainant.personal_note", "Catatan pribadi (disegel bersama identitas)", Kind::Long, false),
        f("complainant.confidentiality", "Kerahasiaan", Kind::Choice(CONFIDENTIALITY), true),
        f("upp_review", "Hasil telaahan UPP", Kind::Long, true),
        h("attachments", "Lampiran", Kind::Files { photos: false }, false, "Foto atau PDF, boleh lebih dari satu"),
        h("personal_scan", "Pindaian identitas (KTP)", Kind::PersonalScan, false, "Disegel dengan kunci aduan ini; hanya yang boleh melihat identitas pelapor dapat membukanya"),
    ],
};

/// Every action on a registered complaint, in the order the page shows them.
pub(super) const ACTIONS: &[Action] = &[
    Action {
        slug: "dispose",
        title: "Disposisi ke perangkat daerah (langkah 1)",
        button: "Disposisikan",
        terminal: false,
        consequence: "",
        fields: &[
            f("agency", "Perangkat daerah", Kind::Agency, true),
            f("liaison_officer", "Pejabat penghubung (nama pengguna)", Kind::Text, true),
            f("sub_unit", "Unit kerja (UPT, Satker)", Kind::Text, false),
            f("note", "Instruksi", Kind::Long, false),
        ],
    },
    Action {
        slug: "archive",
        title: "Arsipkan",
        button: "Arsipkan",
        terminal: true,
        consequence: "Aduan diarsipkan dan tidak ditindaklanjuti.",
        fields: &[
            f("reason", "Alasan", Kind::Choice(ARCHIVE_REASONS), true),
            h("duplicate_of", "Duplikat dari aduan nomor", Kind::Text, false, "Hanya bila alasannya duplikat"),
            f("note", "Catatan", Kind::Long, false),
        ],
    },
    Action {
        slug: "forward",
        title: "Teruskan ke instansi di luar Pemkab",
        button: "Teruskan",
        terminal: true,
        consequence: "Aduan diteruskan ke instansi lain dan selesai di sini.",
        fields: &[
            f("institution", "Instansi tujuan", Kind::Text, true),
            f("reason", "Alasan", Kind::Long, true),
        ],
    },
    Action {
        slug: "withdraw",
        title: "Catat pencabutan oleh pelapor",
        button: "Catat pencabutan",
        terminal: true,
        consequence: "Aduan ditutup karena dicabut pelapor.",
        fields: &[f("note", "Keterangan", Kind::Long, true)],
    },
    Action {
        slug: "return",
        title: "Kembalikan (bukan kewenangan perangkat daerah ini)",
        button: "Kembalikan",
        terminal: false,
        consequence: "",
        fields: &[
            f("reason", "Alasan", Kind::Long, true),
            f("suggested_agency", "Perangkat daerah yang berwenang (kode)", Kind::Text, false),
        ],
    },
    Action {
        slug: "review",
        title: "Telaah (langkah 2): lengkap? jelas?",
        button: "Simpan telaah",
        terminal: false,
        consequence: "",
        fields: &[
            f("complete", "Apakah aduan lengkap?", Kind::YesNo, true),
            f("clear", "Apakah aduan jelas?", Kind::YesNo, true),
            h("missing_items", "Yang kurang", Kind::Lines, false, "Satu per baris, bila tidak lengkap"),
            f("notes", "Catatan", Kind::Long, false),
        ],
    },
    Action {
        slug: "request-information",
        title: "Minta keterangan kepada pelapor",
        button: "Kirim pertanyaan",
        terminal: false,
        consequence: "",
        fields: &[h("questions", "Pertanyaan", Kind::Lines, true, "Satu per baris")],
    },
    Action {
        slug: "provide-information",
        title: "Catat jawaban pelapor",
        button: "Simpan jawaban",
        terminal: false,
        consequence: "",
        fields: &[
            f("answer", "Jawaban pelapor", Kind::Long, true),
            f("attachments", "Lampiran", Kind::Files { photos: false }, false),
        ],
    },
    Action {
        slug: "reject",
        title: "Tidak ditindaklanjuti (tidak lengkap dan tidak jelas)",
        button: "Tolak aduan",
        terminal: true,
        consequence: "Aduan tidak ditindaklanjuti dan ditutup.",
        fields: &[f("reason", "Alasan", Kind::Long, true)],
    },
    Action {
        slug: "clarify",
        title: "Simpulan klarifikasi (langkah 2)",
        button: "Simpan simpulan",
        terminal: false,
        consequence: "",
        fields: &[
            f("field_examination_needed", "Perlu pemeriksaan lapangan?", Kind::YesNo, true),
            f("reasoning", "Alasan", Kind::Long, true),
        ],
    },
    Action {
        slug: "field-verification",
        title: "Verifikasi lapangan (langkah 3)",
        button: "Simpan verifikasi",
        terminal: false,
        consequence: "",
        fields: &[
            f("visit_date", "Tanggal kunjungan", Kind::Date, true),
            f("location", "Tempat", Kind::Text, true),
            f("parties_summoned", "Pihak yang dipanggil", Kind::Parties, true),
            f("parties_confirmed", "Pihak yang membenarkan", Kind::Parties, false),
            f("findings", "Temuan", Kind::Long, true),
            h("evidence", "Foto lapangan", Kind::Files { photos: true }, true, "Ambil dengan kamera atau pilih berkas; pratinjau tampil sebelum dikirim"),
        ],
    },
    Action {
        slug: "ba",
        title: "Terbitkan Berita Acara (langkah 3)",
        button: "Terbitkan BA",
        terminal: false,
        consequence: "",
        fields: &[
            f("number", "Nomor BA", Kind::Text, true),
            f("date", "Tanggal BA", Kind::Date, true),
            f("place", "Tempat pembuatan", Kind::Text, false),
            f("addressee.name", "Kepala perangkat daerah", Kind::Text, true),
            f("addressee.position", "Jabatan", Kind::Text, true),
            f("addressee.agency", "Perangkat daerah (kode)", Kind::Text, true),
            f("addressee.nip", "NIP kepala", Kind::Text, false),
            f("signatories", "Penanda tangan", Kind::Parties, true),
            f("findings", "Temuan", Kind::Long, true),
            f("conclusion", "Kesimpulan", Kind::Long, true),
            f("solution", "Solusi bagi pelapor", Kind::Long, true),
        ],
    },
    Action {
        slug: "acknowledge-ba",
        title: "Terima Berita Acara",
        button: "Terima BA",
        terminal: false,
        consequence: "",
        fields: &[f("note", "Arahan", Kind::Long, false)],
    },
    Action {
        slug: "respond",
        title: "Jawab pelapor",
        button: "Kirim jawaban",
        terminal: false,
        consequence: "",
        fields: &[
            h("response", "Jawaban", Kind::Long, false, "Setelah BA boleh kosong: solusi BA yang dikirim"),
            f("channel", "Melalui", Kind::Choice(CHANNELS), true),
        ],
    },
    Action {
        slug: "progress",
        title: "Kabar perkembangan",
        button: "Kirim kabar",
        terminal: false,
        consequence: "",
        fields: &[h("text", "Perkembangan", Kind::Long, true, "Terlihat oleh pelapor")],
    },
    Action {
        slug: "feedback",
        title: "Catat tanggapan pelapor",
        button: "Simpan tanggapan",
        terminal: false,
        consequence: "",
        fields: &[
            f("satisfied", "Pelapor puas?", Kind::YesNo, true),
            f("text", "Yang disampaikan pelapor", Kind::Long, false),
        ],
    },
    Action {
        slug: "reopen",
        title: "Buka kembali",
        button: "Buka kembali",
        terminal: false,
        consequence: "",
        fields: &[f("reason", "Alasan", Kind::Long, true)],
    },
    Action {
        slug: "close",
        title: "Tutup aduan",
        button: "Tutup",
        terminal: true,
        consequence: "Aduan ditutup dan tidak dapat diubah lagi.",
        fields: &[f("note", "Catatan penutup", Kind::Long, false)],
    },
    Action {
        slug: "reassign",
        title: "Alihkan ke pejabat penghubung lain",
        button: "Alihkan",
        terminal: false,
        consequence: "",
        fields: &[
            f("liaison_officer", "Pejabat penghubung baru (nama pengguna)", Kind::Text, true),
            f("reason", "Alasan", Kind::Long, true),
        ],
    },
    Action {
        slug: "annul-breach",
        title: "Batalkan pelanggaran tenggat",
        button: "Batalkan pelanggaran",
        terminal: false,
        consequence: "",
        fields: &[
            f("breach", "Pelanggaran", Kind::Breach, true),
            f("reason", "Alasan", Kind::Long, true),
        ],
    },
    Action {
        slug: "erase-identity",
        title: "Hapus identitas pelapor (UU PDP)",
        button: "Hapus identitas",
        terminal: true,
        consequence: "Kunci identitas pelapor dimusnahkan: nama, NIK, kontak dan pindaian identitas tidak dapat dibaca lagi oleh siapa pun. Tidak dapat dibatalkan.",
        fields: &[h("legal_basis", "Dasar hukum dan permintaan", Kind::Long, true, "Tanpa data pribadi: teks ini tetap di log")],
    },
];

/// Actions beside the way of the SOP (a return, a progress note, the door's other
/// exits): their forms start closed. Of the others offered, the last in the SOP's order
/// is the step at hand, and its form starts open.
const BESIDE_THE_WAY: &[&str] = &[
    "archive",
    "forward",
    "withdraw",
    "return",
    "reject",
    "progress",
    "reassign",
    "erase-identity",
];

impl Action {
    /// Whether this is the way forward rather than a side exit.
    pub fn on_the_way(&self) -> bool {
        !BESIDE_THE_WAY.contains(&self.slug)
    }
}

/// The action named `slug`.
pub(super) fn action(slug: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.slug == slug)
}

/// The breaches of a complaint that the coordinator may still annul: (value, label).
pub(super) fn open_breaches(complaint: &Complaint) -> Vec<(String, String)> {
    complaint
        .timeline()
        .clocks
        .iter()
        .filter(|c| c.breach_recorded_at.is_some() && c.breach_annulled_at.is_none())
        .map(|c| {
            (
                format!("{}:{}", c.step.as_str(), c.occurrence),
                format!("{} (putaran {})", super::step_words(c.step), c.occurrence),
            )
        })
        .collect()
}

/// A sample of the action's command, valid in every field the domain checks, to ask the
/// domain whether it would accept the action from this person now.
fn sample(slug: &str, complaint: &Complaint, today: NaiveDate) -> Option<ComplaintCommand> {
    let text = || "contoh".to_owned();
    let party = || Party {
        name: text(),
        position: text(),
        unit: None,
        nip: None,
    };
    let photo = || EvidenceRef {
        sha256: "0".repeat(64),
        media_type: "image/jpeg".into(),
        size: 1,
        caption: text(),
    };
    let agency = complaint.agency().cloned().unwrap_or(AgencyCode(text()));
    Some(match slug {
        "dispose" => ComplaintCommand::Dispose(Disposition {
            // Another agency than the one holding it: a re-disposition's sample.
            agency: AgencyCode(format!("{}-LAIN", agency.0)),
            liaison_officer: UserId(text()),
            sub_unit: None,
            note: None,
        }),
        "archive" => ComplaintCommand::Archive(Archiving {
            reason: ArchiveReason::Spam,
            duplicate_of: None,
            note: None,
        }),
        "forward" => ComplaintCommand::Forward(Forwarding {
            institution: text(),
            reason: text(),
        }),
        "withdraw" => ComplaintCommand::Withdraw(Withdrawal { note: text() }),
        "return" => ComplaintCommand::ReturnForRedisposition(ReturnNote {
            reason: text(),
            suggested_agency: None,
        }),
        "review" => ComplaintCommand::Review(ReviewResult {
            complete: true,
            clear: true,
            missing_items: Vec::new(),
            notes: String::new(),
        }),
        "request-information" => ComplaintCommand::RequestInformation(InformationRequest {
            questions: vec![text()],
        }),
        "provide-information" => ComplaintCommand::ProvideInformation(InformationReply {
            answer: text(),
            attachments: Vec::new(),
        }),
        "reject" => ComplaintCommand::Reject(Rejection { reason: text() }),
        "clarify" => {
            // The conclusion the review allows: a field examination when it found the
            // file incomplete.
            let complete = complaint.last_review().is_none_or(|r| r.complete);
            ComplaintCommand::Clarify(Clarification {
                field_examination_needed: !complete,
                reasoning: text(),
            })
        }
        "field-verification" => ComplaintCommand::VerifyInField(FieldVisit {
            visit_date: today.pred_opt()?,
            location: text(),
            parties_summoned: vec![party()],
            parties_confirmed: Vec::new(),
            findings: text(),
            evidence: vec![photo()],
        }),
        "ba" => ComplaintCommand::IssueBa(BeritaAcara {
            number: text(),
            date: today.succ_opt()?,
            addressee: Addressee {
                name: text(),
                position: text(),
                agency,
                nip: None,
            },
            signatories: vec![party()],
            findings: text(),
            conclusion: text(),
            solution: text(),
            place: None,
        }),
        "acknowledge-ba" => ComplaintCommand::AcknowledgeBa(BaAcknowledgement { note: None }),
        "respond" => ComplaintCommand::Respond(ResponseText {
            response: text(),
            channel: ResponseChannel::Lapor,
        }),
        "progress" => ComplaintCommand::ReportProgress(ProgressReport { text: text() }),
        "feedback" => ComplaintCommand::RecordFeedback(Feedback {
            satisfied: true,
            text: text(),
        }),
        "reopen" => ComplaintCommand::Reopen(Reopening { reason: text() }),
        "close" => ComplaintCommand::Close(Closure { note: None }),
        "reassign" => ComplaintCommand::Reassign(Reassignment {
            liaison_officer: UserId(format!(
                "{}-lain",
                complaint
                    .disposition()
                    .map_or("contoh", |d| d.liaison_officer.0.as_str())
            )),
            reason: text(),
        }),
        "annul-breach" => {
            let c = complaint
                .timeline()
                .clocks
                .iter()
                .find(|c| c.breach_recorded_at.is_some() && c.breach_annulled_at.is_none())?;
            ComplaintCommand::AnnulBreach(BreachAnnulment {
                step: c.step,
                occurrence: c.occurrence,
                reason: text(),
            })
        }
        "erase-identity" => ComplaintCommand::EraseIdentity(IdentityErasure {
            legal_basis: text(),
        }),
        _ => return None,
    })
}

/// The command id of the samples: with a `:`, which no form's key has (`konsol-…`).
const SAMPLE_ID: &str = "konsol:contoh";

/// The actions whose forms the page offers `actor` now: those the domain accepts a
/// sample of. Over HTTP only UPP and the coordinator erase an identity (never the
/// system), as the API has it.
pub(super) fn offered(
    complaint: &Complaint,
    actor: &Actor,
    state: &AppState,
) -> Vec<&'static Action> {
    let services = state.store.engine().services();
    // Dated as the command would be (never before the complaint's latest event).
    let now = state.now_for(complaint);
    let today = services.policy.time_zone.local_date(now);
    ACTIONS
        .iter()
        .filter(|a| {
            a.slug != "erase-identity" || crate::http::commands::may_erase_over_http(actor).is_ok()
        })
        .filter(|a| {
            sample(a.slug, complaint, today).is_some_and(|command| {
                let envelope =
                    CommandEnvelope::new(SAMPLE_ID.to_owned(), actor.clone(), now, command);
                complaint
                    .decide(&envelope, &services)
                    .is_ok_and(|events| !events.is_empty())
            })
        })
        .collect()
}

/// A file a form sent.
pub(super) struct SentFile {
    pub field: String,
    pub name: String,
    pub media_type: Option<String>,
    pub bytes: Bytes,
}

/// What a form sent: its text fields (the last of each name) and its files.
#[derive(Default)]
pub(super) struct Sent {
    pub text: HashMap<String, String>,
    pub files: Vec<SentFile>,
}

impl Sent {
    pub fn get(&self, key: &str) -> &str {
        self.text.get(key).map_or("", |v| v.trim())
    }
}

/// Why a form was not run: messages per field, and one for the form.
#[derive(Default, Debug)]
pub(super) struct Refusal {
    pub fields: HashMap<String, String>,
    pub form: Option<String>,
}

impl Refusal {
    fn field(key: &str, message: impl Into<String>) -> Self {
        let mut fields = HashMap::new();
        fields.insert(key.to_owned(), message.into());
        Self { fields, form: None }
    }

    pub(super) fn form(message: impl Into<String>) -> Self {
        Self {
            fields: HashMap::new(),
            form: Some(message.into()),
        }
    }
}

/// How many rows of people a form offers.
pub(super) const PARTY_ROWS: usize = 3;

fn insert(body: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        Some((outer, inner)) => {
            let entry = body
                .entry(outer.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(nested) = entry {
                insert(nested, inner, value);
            }
        }
        None => {
            body.insert(key.to_owned(), value);
        }
    }
}

/// The request body a form makes, with its fields checked: a required field filled, a
/// yes/no, date or choice well-formed. Files are not read here.
pub(super) fn body_of(
    action: &Action,
    sent: &Sent,
    zone: &TimeZoneSpec,
    breaches: &[(String, String)],
) -> Result<Map<String, Value>, Refusal> {
    let mut body = Map::new();
    let mut refusal = Refusal::default();
    let required = "Wajib diisi.";
    for field in action.fields {
        let value = sent.get(field.key);
        let mut fail = |message: &str| {
            refusal
                .fields
                .insert(field.key.to_owned(), message.to_owned());
        };
        match field.kind {
            Kind::Text | Kind::Long => {
                if value.is_empty() {
                    if field.required {
                        fail(required);
                    }
                } else {
                    insert(&mut body, field.key, json!(value));
                }
            }
            Kind::Lines => {
                let lines: Vec<&str> = value
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                if lines.is_empty() && field.required {
                    fail(required);
                }
                insert(&mut body, field.key, json!(lines));
            }
            Kind::YesNo => match value {
                "ya" => insert(&mut body, field.key, json!(true)),
                "tidak" => insert(&mut body, field.key, json!(false)),
                _ => fail("Pilih ya atau tidak."),
            },
            Kind::Date => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(date) => insert(&mut body, field.key, json!(date)),
                Err(_) if value.is_empty() => fail(required),
                Err(_) => fail("Tanggal tidak sah (tttt-bb-hh)."),
            },
            Kind::DateTime => {
                let parsed = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
                    .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"));
                match parsed {
                    Ok(local) => match zone.offset().from_local_datetime(&local).single() {
                        Some(at) => insert(&mut body, field.key, json!(at.with_timezone(&Utc))),
                        None => fail("Waktu tidak sah."),
                    },
                    Err(_) if value.is_empty() => fail(required),
                    Err(_) => fail("Waktu tidak sah."),
                }
            }
            Kind::Choice(options) => {
                if options.iter().any(|(v, _)| *v == value) {
                    insert(&mut body, field.key, json!(value));
                } else if value.is_empty() && !field.required {
                } else {
                    fail("Pilih salah satu.");
                }
            }
            Kind::Agency => {
                if value.is_empty() {
                    fail(required);
                } else {
                    insert(&mut body, field.key, json!(value));
                }
            }
            Kind::Parties => {
                let mut people = Vec::new();
                for row in 0..PARTY_ROWS {
                    let part =
                        |name: &str| sent.get(&format!("{}.{row}.{name}", field.key)).to_owned();
                    let (name, position) = (part("name"), part("position"));
                    if name.is_empty() && position.is_empty() {
                        continue;
                    }
                    if name.is_empty() || position.is_empty() {
                        fail("Isi nama dan jabatan setiap orang.");
                        continue;
                    }
                    let optional = |v: String| (!v.is_empty()).then_some(v);
                    people.push(json!({
                        "name": name, "position": position,
                        "unit": optional(part("unit")), "nip": optional(part("nip")),
                    }));
                }
                if people.is_empty() && field.required {
                    fail("Isi paling sedikit satu orang.");
                }
                insert(&mut body, field.key, Value::Array(people));
            }
            Kind::Files { .. } => {
                let chosen = sent
                    .files
                    .iter()
                    .any(|file| file.field == field.key && !file.bytes.is_empty());
                if !chosen && field.required {
                    fail("Pilih paling sedikit satu berkas.");
                }
                insert(&mut body, field.key, json!([]));
            }
            Kind::PersonalScan => {}
            Kind::Breach => match value
                .split_once(':')
                .filter(|_| breaches.iter().any(|(v, _)| v == value))
            {
                Some((step, occurrence)) => {
                    body.insert("step".into(), json!(step));
                    body.insert(
                        "occurrence".into(),
                        json!(occurrence.parse::<u32>().unwrap_or(0)),
                    );
                }
                None => fail("Pilih pelanggaran yang tercatat."),
            },
        }
    }
    if refusal.fields.is_empty() {
        Ok(body)
    } else {
        Err(refusal)
    }
}

/// Why a form's files were not stored: a fault of a file (beside its field), or of the
/// host (an error page, logged).
pub(super) enum NotStored {
    Refused(Refusal),
    Failed(ApiError),
}

/// Stores the form's files for the complaint and names them in the body, as the API's
/// uploads and citations are; a file of a type the store refuses is refused beside its
/// field.
pub(super) async fn upload_files(
    state: &AppState,
    actor: &Actor,
    complaint: &PathId,
    action: &Action,
    sent: &Sent,
    body: &mut Map<String, Value>,
) -> Result<(), NotStored> {
    for field in action.fields {
        let personal = match field.kind {
            Kind::Files { .. } => false,
            Kind::PersonalScan => true,
            _ => continue,
        };
        // What the person wrote, or a caption of our own: a file's name (`KTP_Budi.jpg`)
        // never reaches the log, which keeps it for ever.
        let caption = match field.kind {
            Kind::PersonalScan => "Pindaian identitas".to_owned(),
            _ => sent.get(&format!("{}.caption", field.key)).to_owned(),
        };
        let fallback = if matches!(field.kind, Kind::Files { photos: true }) {
            "Foto"
        } else {
            "Lampiran"
        };
        let mut cited = Vec::new();
        for file in sent
            .files
            .iter()
            .filter(|file| file.field == field.key && !file.bytes.is_empty())
        {
            // A registration's attachments come before their complaint, as the API's
            // do: named for it only when sealed with its key.
            let for_complaint = personal || action.slug != "register";
            let query = UploadQuery {
                complaint: for_complaint.then(|| complaint.to_string()),
                personal,
            };
            let declared = file
                .media_type
                .clone()
                .filter(|t| t != "application/octet-stream");
            match store_upload(state, actor, &query, declared, file.bytes.clone()).await {
                Ok(stored) => cited.push(json!({
                    "sha256": stored.sha256,
                    "caption": if caption.is_empty() { format!("{fallback} {}", cited.len() + 1) } else { caption.clone() },
                })),
                Err(ApiError::UnsupportedMediaType(_)) => {
                    return Err(NotStored::Refused(Refusal::field(
                        field.key,
                        format!("{}: bukan foto (JPEG, PNG, WebP, GIF) atau PDF.", file.name),
                    )))
                }
                Err(ApiError::TooLarge(_)) => {
                    return Err(NotStored::Refused(Refusal::field(
                        field.key,
                        format!("{}: berkas terlalu besar.", file.name),
                    )))
                }
                Err(ApiError::BadRequest(_)) => {
                    return Err(NotStored::Refused(Refusal::field(
                        field.key,
                        format!("{}: berkas kosong.", file.name),
                    )))
                }
                Err(e) => return Err(NotStored::Failed(e)),
            }
        }
        if personal {
            // A sealed scan is cited among the registration's attachments.
            if let Some(Value::Array(list)) = body.get_mut("attachments") {
                list.extend(cited);
            }
        } else {
            body.insert(field.key.to_owned(), Value::Array(cited));
        }
    }
    Ok(())
}

/// The command a body makes, resolved and checked as the API resolves and checks it.
pub(super) async fn command_of(
    state: &AppState,
    actor: &Actor,
    complaint: &PathId,
    slug: &str,
    body: Map<String, Value>,
) -> Result<ComplaintCommand, ApiError> {
    async fn resolve<T: DeserializeOwned + ResolveCommand>(
        state: &AppState,
        actor: &Actor,
        complaint: &PathId,
        body: Map<String, Value>,
    ) -> Result<ComplaintCommand, ApiError> {
        let request: T = serde_json::from_value(Value::Object(body))
            .map_err(|e| ApiError::BadRequest(format!("the form does not fit: {e}")))?;
        let citing = Citing::new(state, actor, complaint);
        let command = request.resolve(&citing).await?;
        citing.check(command).await
    }
    match slug {
        "register" => resolve::<RegisterRequest>(state, actor, complaint, body).await,
        "dispose" => {
            // The registry's check at the door, as the API's.
            let agency = body.get("agency").and_then(Value::as_str).unwrap_or("");
            state.store.active_agency(agency).await?;
            resolve::<DisposeRequest>(state, actor, complaint, body).await
        }
        "archive" => {
            if let Some(original) = body.get("duplicate_of").and_then(Value::as_str) {
                crate::http::commands::existing_original(state, complaint, original).await?;
            }
            resolve::<ArchiveRequest>(state, actor, complaint, body).await
        }
        "forward" => resolve::<ForwardRequest>(state, actor, complaint, body).await,
        "withdraw" => resolve::<WithdrawRequest>(state, actor, complaint, body).await,
        "return" => resolve::<ReturnRequest>(state, actor, complaint, body).await,
        "review" => resolve::<ReviewRequest>(state, actor, complaint, body).await,
        "request-information" => {
            resolve::<RequestInformationRequest>(state, actor, complaint, body).await
        }
        "provide-information" => {
            resolve::<ProvideInformationRequest>(state, actor, complaint, body).await
        }
        "reject" => resolve::<RejectRequest>(state, actor, complaint, body).await,
        "clarify" => resolve::<ClarifyRequest>(state, actor, complaint, body).await,
        "field-verification" => {
            resolve::<FieldVerificationRequest>(state, actor, complaint, body).await
        }
        "ba" => resolve::<BaRequest>(state, actor, complaint, body).await,
        "acknowledge-ba" => resolve::<AcknowledgeBaRequest>(state, actor, complaint, body).await,
        "respond" => resolve::<RespondRequest>(state, actor, complaint, body).await,
        "progress" => resolve::<ProgressRequest>(state, actor, complaint, body).await,
        "feedback" => resolve::<FeedbackRequest>(state, actor, complaint, body).await,
        "reopen" => resolve::<ReopenRequest>(state, actor, complaint, body).await,
        "close" => resolve::<CloseRequest>(state, actor, complaint, body).await,
        "reassign" => resolve::<ReassignRequest>(state, actor, complaint, body).await,
        "annul-breach" => resolve::<AnnulBreachRequest>(state, actor, complaint, body).await,
        "erase-identity" => {
            crate::http::commands::may_erase_over_http(actor)?;
            resolve::<EraseIdentityRequest>(state, actor, complaint, body).await
        }
        other => Err(ApiError::NotFound(format!("no action `{other}`"))),
    }
}
