//! The SOP's refusals in Indonesian, for people. One arm per rule: the compiler makes
//! a new rule of the domain come here too. The rule's code (`sop.step2.…`) is shown
//! beside the sentence, as the API's problems carry it.

use workflow_core::{DomainError, TimeZoneSpec};

use super::{status_label, step_words};
use crate::format::{local, zone_label};

/// The refusal in Indonesian, times in `zone`.
pub(super) fn refusal(e: &DomainError, zone: &TimeZoneSpec) -> String {
    let at = |t| format!("{} {}", local(t, zone), zone_label(zone));
    match e {
        DomainError::NotRegistered => "Belum ada aduan terdaftar dengan nomor ini.".into(),
        DomainError::AlreadyRegistered => "Aduan ini sudah terdaftar.".into(),
        DomainError::RoleNotPermitted { role, command } => {
            format!("Peran {role} tidak boleh menjalankan `{command}`.")
        }
        DomainError::ReadOnlyRole { role } => {
            format!("Peran {role} hanya membaca dan tidak mengubah aduan.")
        }
        DomainError::NotYourAgency { .. } => {
            "Aduan ini tidak didisposisikan ke perangkat daerah Anda.".into()
        }
        DomainError::InvalidTransition { command, status } => format!(
            "Tidak dapat menjalankan `{command}` pada aduan yang berstatus {}.",
            status_label(*status)
        ),
        DomainError::AlreadyDisposedTo { agency } => {
            format!("Aduan sudah didisposisikan ke {agency}.")
        }
        DomainError::MissingField { field } => format!("`{field}` wajib diisi."),
        DomainError::ReviewInconsistent => {
            "Telaah lengkap berarti tidak ada yang kurang; telaah tidak lengkap menyebut yang kurang."
                .into()
        }
        DomainError::ResponseAwaitsBaAcknowledgement => {
            "Jawaban menunggu kepala perangkat daerah menerima Berita Acara.".into()
        }
        DomainError::BaAlreadyAcknowledged => {
            "Kepala perangkat daerah sudah menerima Berita Acara ini.".into()
        }
        DomainError::InformationWindowOpen { until } => {
            format!("Pelapor masih dapat menjawab sampai {}.", at(*until))
        }
        DomainError::DuplicateOfMismatch => {
            "Nomor aduan asal diisi tepat bila alasannya duplikat.".into()
        }
        DomainError::CommandIdReused { .. } => {
            "Formulir ini sudah dipakai untuk perintah lain; muat ulang halaman.".into()
        }
        DomainError::DatedBeforeLatestEvent { at: when, latest } => format!(
            "Waktu perintah ini ({}) lebih awal dari catatan terakhir aduan ({}); \
             catatan aduan berurutan menurut waktu. Periksa jam server, lalu coba lagi.",
            at(*when),
            at(*latest)
        ),
        DomainError::ReportedAfterRegistration { .. } => {
            "Tanggal laporan di LAPOR! jatuh setelah pendaftarannya.".into()
        }
        DomainError::ReportedAtImplausible { .. } => {
            "Tanggal laporan sebelum tahun 2000: periksa tanggalnya.".into()
        }
        DomainError::ImportOfSettledReport { .. } => {
            "Laporan ini sudah dijawab, selesai atau diarsipkan di LAPOR!: tidak ada yang perlu ditindaklanjuti, sehingga tidak diimpor."
                .into()
        }
        DomainError::ImportDispositionMismatch { status } => match status {
            workflow_core::LaporStatus::Verification => {
                "Laporan yang masih diverifikasi di LAPOR! belum memiliki disposisi.".into()
            }
            _ => "Laporan yang sudah didisposisikan di LAPOR! memerlukan instansi tujuan dan tanggal disposisinya."
                .into(),
        },
        DomainError::ImportDispositionDate { .. } => {
            "Tanggal disposisi di LAPOR! harus di antara tanggal laporan dan saat impor.".into()
        }
        DomainError::UserNameInvalid => "Nama pengguna tidak sah.".into(),
        DomainError::RejectRequiresIncompleteAndUnclearReview => {
            "Aduan hanya dapat tidak ditindaklanjuti bila telaah mendapatinya tidak lengkap dan tidak jelas."
                .into()
        }
        DomainError::RequestRequiresIncompleteOrUnclearReview => {
            "Keterangan hanya dapat diminta bila telaah mendapati aduan tidak lengkap atau tidak jelas."
                .into()
        }
        DomainError::ClarifyRequiresClearReview => {
            "Klarifikasi hanya setelah telaah mendapati aduan jelas.".into()
        }
        DomainError::IncompleteFileNeedsFieldExamination => {
            "Telaah mendapati berkas tidak lengkap: simpulannya harus pemeriksaan lapangan yang melengkapinya."
                .into()
        }
        DomainError::FieldVerificationNotNeeded => {
            "Simpulan klarifikasi: pemeriksaan lapangan tidak diperlukan.".into()
        }
        DomainError::FieldVerificationNeedsPhoto => {
            "Verifikasi lapangan memerlukan paling sedikit satu foto.".into()
        }
        DomainError::MalformedEvidence { .. } => "Rujukan bukti tidak sah.".into(),
        DomainError::VisitDateInFuture => "Tanggal kunjungan belum terjadi.".into(),
        DomainError::BaRequiresFieldVerification => {
            "Berita Acara hanya setelah verifikasi lapangan.".into()
        }
        DomainError::BaAddresseeNotHeadOfDisposedAgency { expected, addressed } => format!(
            "Berita Acara ditujukan kepada kepala {expected}, bukan {addressed}."
        ),
        DomainError::BaDateBeforeVisit => {
            "Tanggal Berita Acara mendahului kunjungan lapangan.".into()
        }
        DomainError::BaNeedsSignatory => {
            "Berita Acara memerlukan paling sedikit satu penanda tangan.".into()
        }
        DomainError::RespondRequiresOutcome => {
            "Jawaban memerlukan klarifikasi tanpa pemeriksaan lapangan, atau Berita Acara yang terbit."
                .into()
        }
        DomainError::FeedbackWindowOpen { until } => {
            format!("Pelapor masih dapat menanggapi sampai {}.", at(*until))
        }
        DomainError::DeadlineNotPassed { step, due_at } => format!(
            "Tenggat {} ({}) belum lewat.",
            step_words(*step),
            at(*due_at)
        ),
        DomainError::BreachAlreadyRecorded { step } => {
            format!("Pelanggaran tenggat {} sudah tercatat.", step_words(*step))
        }
        DomainError::StepNotStarted { step } => {
            format!("Tenggat {} belum berjalan.", step_words(*step))
        }
        DomainError::StepNotBreachable { step } => {
            format!("Tenggat {} tidak dapat dilanggar.", step_words(*step))
        }
        DomainError::WaitingForComplainant => "Aduan menunggu keterangan pelapor.".into(),
        DomainError::NotAssignedLiaison { assigned } => format!(
            "Aduan ini ditugaskan kepada pejabat penghubung `{assigned}`; perlu pengalihan lebih dulu."
        ),
        DomainError::EscalatedToCoordinator => {
            "Aduan tiga kali dikembalikan: koordinator yang memutuskan disposisinya.".into()
        }
        DomainError::CoordinatorDecided => {
            "Koordinator sudah memutuskan disposisi ini; tidak dapat dikembalikan lagi.".into()
        }
        DomainError::FeedbackWindowElapsed { ended } => {
            format!("Masa tanggapan pelapor berakhir {}.", at(*ended))
        }
        DomainError::FeedbackAlreadyRecorded => {
            "Tanggapan pelapor atas jawaban ini sudah tercatat.".into()
        }
        DomainError::ReopenRequiresDissatisfiedFeedback => {
            "Aduan hanya dibuka kembali bila pelapor menyatakan tidak puas.".into()
        }
        DomainError::CloseRequiresSatisfiedFeedbackOrWindow { until } => format!(
            "Aduan ditutup setelah pelapor puas, atau setelah masa tanggapan berakhir {}.",
            at(*until)
        ),
        DomainError::ReassignToSameLiaison { liaison } => {
            format!("Aduan sudah ditugaskan kepada `{liaison}`.")
        }
        DomainError::BreachNotRecorded { step, occurrence } => format!(
            "Tidak ada pelanggaran {} putaran {occurrence} yang tercatat.",
            step_words(*step)
        ),
        DomainError::BreachAlreadyAnnulled { step, occurrence } => format!(
            "Pelanggaran {} putaran {occurrence} sudah dibatalkan.",
            step_words(*step)
        ),
        DomainError::IdentityNotPlain => "Identitas pelapor diberikan apa adanya; sistem yang menyegelnya.".into(),
        DomainError::ErasureNeedsLegalBasis => "Penghapusan identitas memerlukan dasar hukumnya.".into(),
        DomainError::IdentityAlreadyErased { erased_at } => {
            format!("Identitas pelapor sudah dihapus pada {}.", at(*erased_at))
        }
    }
}

/// The host's own rules (the registry's, the evidence store's) in Indonesian.
pub(super) fn host_rule(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "agency.unknown" => "Perangkat daerah ini tidak terdaftar.",
        "agency.code_invalid" => "Kode perangkat daerah tidak sah: huruf besar dan angka.",
        "agency.retired" => "Perangkat daerah ini sudah tidak aktif.",
        "evidence.not_yours_to_cite" => "Berkas ini bukan milik Anda atau aduan ini untuk dirujuk.",
        "evidence.unknown" => "Berkas yang dirujuk tidak ditemukan.",
        "sop.door.duplicate_of_itself" => "Aduan tidak dapat menjadi duplikat dirinya sendiri.",
        "sop.door.duplicate_of_unknown" => "Aduan asal yang disebut tidak ada.",
        _ => return None,
    })
}
