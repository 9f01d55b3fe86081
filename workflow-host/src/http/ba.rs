//! The Berita Acara of the field examination as a printable page, in Indonesian.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};
use workflow_core::Complaint;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const DAYS: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];

fn tanggal(d: NaiveDate) -> String {
    format!(
        "{}, {} {} {}",
        DAYS[d.weekday().num_days_from_monday() as usize],
        d.day(),
        MONTHS[d.month0() as usize],
        d.year()
    )
}

/// The BA page, or `None` if no BA has been issued.
pub fn render(complaint_id: &str, state: &Complaint) -> Option<String> {
    let ba = state.ba()?;
    let reg = state.registration()?;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>Berita Acara {number}</title>
<style>
 body {{ font-family: "Times New Roman", serif; max-width: 48em; margin: 2em auto; line-height: 1.5; }}
 h1 {{ text-align: center; font-size: 1.2em; text-transform: uppercase; margin-bottom: 0; }}
 .nomor {{ text-align: center; margin-top: 0; }}
 table.data td {{ vertical-align: top; padding: 0 .5em 0 0; }}
 .ttd {{ display: flex; flex-wrap: wrap; gap: 3em; margin-top: 3em; }}
 .ttd div {{ min-width: 14em; text-align: center; }}
 .ttd .ruang {{ height: 5em; }}
 @media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>Berita Acara Pemeriksaan Lapangan</h1>
<p class="nomor">Nomor: {number}</p>
<p>Pada hari ini, {tanggal}, telah dilakukan pemeriksaan lapangan atas pengaduan masyarakat
yang disampaikan melalui LAPOR!-SP4N dengan data sebagai berikut:</p>
<table class="data">
<tr><td>Nomor aduan</td><td>:</td><td>{complaint_id} (LAPOR! {lapor})</td></tr>
<tr><td>Perihal</td><td>:</td><td>{title}</td></tr>
<tr><td>Kategori</td><td>:</td><td>{category}</td></tr>
<tr><td>Lokasi</td><td>:</td><td>{location}</td></tr>
</table>
"#,
        number = esc(&ba.number),
        tanggal = tanggal(ba.date),
        complaint_id = esc(complaint_id),
        lapor = esc(&reg.lapor_id),
        title = esc(&reg.title),
        category = esc(&reg.category),
        location = esc(reg.location.as_deref().unwrap_or("-")),
    );
    for (i, visit) in state.field_visits().iter().enumerate() {
        let _ = write!(
            h,
            "<h2>Pemeriksaan lapangan {}</h2>\n<p>Tanggal {} di {}.</p>\n<p>Pihak yang dipanggil:</p>\n<ul>\n",
            i + 1,
            tanggal(visit.visit_date),
            esc(&visit.location)
        );
        for p in &visit.parties_summoned {
            let _ = writeln!(
                h,
                "<li>{} — {}{}</li>",
                esc(&p.name),
                esc(&p.position),
                p.unit
                    .as_deref()
                    .map(|u| format!(", {}", esc(u)))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            h,
            "</ul>\n<p>Temuan: {}</p>\n<p>Dokumentasi:</p>\n<ol>",
            esc(&visit.findings)
        );
        for e in &visit.evidence {
            let _ = writeln!(
                h,
                "<li>{} ({}, {} bait; SHA-256 <code>{}</code>)</li>",
                esc(&e.caption),
                esc(&e.media_type),
                e.size,
                esc(&e.sha256)
            );
        }
        let _ = writeln!(h, "</ol>");
    }
    let _ = write!(
        h,
        r#"<h2>Hasil pemeriksaan</h2>
<p><strong>Temuan:</strong> {findings}</p>
<p><strong>Kesimpulan:</strong> {conclusion}</p>
<p><strong>Solusi / tanggapan bagi pelapor:</strong> {solution}</p>
<p>Demikian Berita Acara ini dibuat dengan sebenarnya untuk disampaikan kepada
Yth. {addressee_position}, {addressee_name}, untuk dipergunakan sebagaimana mestinya.</p>
<div class="ttd">
"#,
        findings = esc(&ba.findings),
        conclusion = esc(&ba.conclusion),
        solution = esc(&ba.solution),
        addressee_position = esc(&ba.addressee.position),
        addressee_name = esc(&ba.addressee.name),
    );
    for s in &ba.signatories {
        let _ = writeln!(
            h,
            "<div><p>{}</p><div class=\"ruang\"></div><p><u>{}</u></p></div>",
            esc(&s.position),
            esc(&s.name)
        );
    }
    let _ = write!(
        h,
        "<div><p>Mengetahui,<br>{}</p><div class=\"ruang\"></div><p><u>{}</u></p></div>\n</div>\n</body></html>\n",
        esc(&ba.addressee.position),
        esc(&ba.addressee.name)
    );
    Some(h)
}
