//! The Berita Acara of the field examination as a page an agency head prints and signs:
//! in Indonesian, with the letterhead (kop surat) when the agency is known, the day and
//! date of the visit, who was summoned and who confirmed the findings, the photos
//! themselves, the place-and-date line, and each signature with its name and NIP; A4
//! (or F4) with the signatures kept together on one page.

use std::collections::BTreeMap;
use std::fmt::Write;

use workflow_core::complaint::command::Party;
use workflow_core::Complaint;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

use crate::format::{hari, tanggal};

/// The paper the page is laid out for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    /// 210 × 297 mm.
    #[default]
    A4,
    /// Folio, 215 × 330 mm, still common in Indonesian offices.
    F4,
}

impl Paper {
    fn css(self) -> &'static str {
        match self {
            Paper::A4 => "A4",
            Paper::F4 => "215mm 330mm",
        }
    }
}

/// The kop surat: who issues the BA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Letterhead {
    /// `Pemerintah Kabupaten Kapuas`.
    pub government: String,
    /// `Dinas Pekerjaan Umum dan Penataan Ruang`.
    pub agency: String,
    /// Its address, telephone, e-mail.
    pub address: Option<String>,
}

/// A photo to show, as a `data:` URI (the page needs no other request and no token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Photo {
    /// `data:image/jpeg;base64,…`.
    pub data_uri: String,
}

/// What the page shows besides the complaint's state.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// The kop surat, when the agency is known.
    pub letterhead: Option<Letterhead>,
    /// The photos of the field visits by SHA-256 (images the reader may see).
    pub photos: BTreeMap<String, Photo>,
    /// The paper.
    pub paper: Paper,
    /// The head's NIP: the BA's own, else the registry's for the same head.
    pub addressee_nip: Option<String>,
}

fn signature(h: &mut String, heading: &str, name: &str, nip: Option<&str>) {
    let _ = writeln!(
        h,
        "<div class=\"ttd-blok\"><p>{heading}</p><div class=\"ruang\"></div>\
         <p class=\"nama\">{}</p>{}</div>",
        esc(name),
        nip.map(|n| format!("<p class=\"nip\">NIP. {}</p>", esc(n)))
            .unwrap_or_default()
    );
}

fn party_line(p: &Party) -> String {
    format!(
        "<li>{} — {}{}</li>",
        esc(&p.name),
        esc(&p.position),
        p.unit
            .as_deref()
            .map(|u| format!(", {}", esc(u)))
            .unwrap_or_default()
    )
}

/// The BA page, or `None` if no BA has been issued.
pub fn render(complaint_id: &str, state: &Complaint, extras: &Extras) -> Option<String> {
    let ba = state.ba()?;
    let reg = state.registration()?;
    let visits = state.field_visits();
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>Berita Acara {number}</title>
<style>
 @page {{ size: {paper}; margin: 2cm 2cm 2cm 2.5cm; }}
 body {{ font-family: "Times New Roman", "Liberation Serif", serif; font-size: 12pt; max-width: 17cm; margin: 1em auto; line-height: 1.4; }}
 .kop {{ text-align: center; border-bottom: 3px double #000; padding-bottom: .3em; margin-bottom: 1em; }}
 .kop p {{ margin: 0; }}
 .kop .pemerintah {{ font-size: 14pt; font-weight: bold; text-transform: uppercase; }}
 .kop .dinas {{ font-size: 16pt; font-weight: bold; text-transform: uppercase; }}
 .kop .alamat {{ font-size: 10pt; }}
 h1 {{ text-align: center; font-size: 13pt; text-transform: uppercase; text-decoration: underline; margin: .5em 0 0; }}
 h2 {{ font-size: 12pt; margin: 1em 0 .3em; }}
 .nomor {{ text-align: center; margin-top: 0; }}
 table.data td {{ vertical-align: top; padding: 0 .5em 0 0; }}
 .foto {{ display: flex; flex-wrap: wrap; gap: .5cm; }}
 figure {{ margin: 0; width: 7.5cm; break-inside: avoid; page-break-inside: avoid; }}
 figure img {{ width: 7.5cm; max-height: 5.5cm; object-fit: contain; border: 1px solid #999; }}
 figcaption {{ font-size: 10pt; }}
 figcaption code {{ font-size: 8pt; word-break: break-all; }}
 .penutup {{ break-inside: avoid; page-break-inside: avoid; }}
 .tempat {{ text-align: right; margin: 1.5em 0 0; }}
 .ttd {{ display: flex; flex-wrap: wrap; justify-content: space-between; gap: 1cm; margin-top: .5em; }}
 .ttd-blok {{ min-width: 6.5cm; text-align: center; }}
 .ttd-blok p {{ margin: 0; }}
 .ttd .ruang {{ height: 2.2cm; }}
 .ttd .nama {{ font-weight: bold; text-decoration: underline; }}
 @media print {{ body {{ margin: 0; max-width: none; }} }}
</style></head><body>
"#,
        number = esc(&ba.number),
        paper = extras.paper.css(),
    );
    if let Some(kop) = &extras.letterhead {
        let _ = writeln!(
            h,
            "<div class=\"kop\">{}<p class=\"dinas\">{}</p>{}</div>",
            if kop.government.is_empty() {
                String::new()
            } else {
                format!("<p class=\"pemerintah\">{}</p>", esc(&kop.government))
            },
            esc(&kop.agency),
            kop.address
                .as_deref()
                .map(|a| format!("<p class=\"alamat\">{}</p>", esc(a)))
                .unwrap_or_default()
        );
    }
    // The examination happened on the day of the (last) visit, not on the BA's date.
    let (day, place) = match visits.last() {
        Some(v) => (v.visit_date, v.location.as_str()),
        None => (ba.date, reg.location.as_deref().unwrap_or("-")),
    };
    let _ = write!(
        h,
        r#"<h1>Berita Acara Pemeriksaan Lapangan</h1>
<p class="nomor">Nomor: {number}</p>
<p>Pada hari ini {hari}, tanggal {tanggal}, bertempat di {place}, telah dilakukan
pemeriksaan lapangan atas pengaduan masyarakat yang disampaikan melalui LAPOR!-SP4N
dengan data sebagai berikut:</p>
<table class="data">
<tr><td>Nomor aduan</td><td>:</td><td>{complaint_id} (LAPOR! {lapor})</td></tr>
<tr><td>Perihal</td><td>:</td><td>{title}</td></tr>
<tr><td>Kategori</td><td>:</td><td>{category}</td></tr>
<tr><td>Lokasi</td><td>:</td><td>{location}</td></tr>
</table>
"#,
        number = esc(&ba.number),
        hari = hari(day),
        tanggal = tanggal(day),
        place = esc(place),
        complaint_id = esc(complaint_id),
        lapor = esc(&reg.lapor_id),
        title = esc(&reg.title),
        category = esc(&reg.category),
        location = esc(reg.location.as_deref().unwrap_or("-")),
    );
    for (i, visit) in visits.iter().enumerate() {
        let heading = if visits.len() > 1 {
            format!("Pemeriksaan lapangan {}", i + 1)
        } else {
            "Pemeriksaan lapangan".to_owned()
        };
        let _ = write!(
            h,
            "<h2>{heading}</h2>\n<p>{}, {} di {}.</p>\n<p>Pihak yang dipanggil:</p>\n<ul>\n",
            hari(visit.visit_date),
            tanggal(visit.visit_date),
            esc(&visit.location)
        );
        for p in &visit.parties_summoned {
            let _ = writeln!(h, "{}", party_line(p));
        }
        let _ = writeln!(h, "</ul>\n<p>Temuan: {}</p>", esc(&visit.findings));
        if visit.parties_confirmed.is_empty() {
            let _ = writeln!(
                h,
                "<p>Temuan ini belum dikonfirmasi oleh pihak terkait.</p>"
            );
        } else {
            let _ = writeln!(h, "<p>Temuan dikonfirmasi oleh:</p>\n<ul>");
            for p in &visit.parties_confirmed {
                let _ = writeln!(h, "{}", party_line(p));
            }
            let _ = writeln!(h, "</ul>");
        }
        if !visit.evidence.is_empty() {
            let _ = writeln!(h, "<p>Dokumentasi:</p>\n<div class=\"foto\">");
            for (n, e) in visit.evidence.iter().enumerate() {
                let caption = format!("Foto/Dokumen {}: {}", n + 1, esc(&e.caption));
                match extras.photos.get(&e.sha256) {
                    Some(photo) => {
                        let _ = writeln!(
                            h,
                            "<figure><img src=\"{}\" alt=\"{caption}\"><figcaption>{caption}</figcaption></figure>",
                            esc(&photo.data_uri)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            h,
                            "<figure><figcaption>{caption} ({}, {} bait; terlampir, SHA-256 <code>{}</code>)</figcaption></figure>",
                            esc(&e.media_type),
                            e.size,
                            esc(&e.sha256)
                        );
                    }
                }
            }
            let _ = writeln!(h, "</div>");
        }
    }
    let _ = write!(
        h,
        r#"<h2>Hasil pemeriksaan</h2>
<p><strong>Temuan:</strong> {findings}</p>
<p><strong>Kesimpulan:</strong> {conclusion}</p>
<p><strong>Solusi / tanggapan bagi pelapor:</strong> {solution}</p>
<div class="penutup">
<p>Demikian Berita Acara ini dibuat dengan sebenarnya untuk disampaikan kepada
Yth. {addressee_position}, {addressee_name}, untuk dipergunakan sebagaimana mestinya.</p>
<p class="tempat">{place_and_date}</p>
<div class="ttd">
"#,
        findings = esc(&ba.findings),
        conclusion = esc(&ba.conclusion),
        solution = esc(&ba.solution),
        addressee_position = esc(&ba.addressee.position),
        addressee_name = esc(&ba.addressee.name),
        place_and_date = match &ba.place {
            Some(place) => format!("{}, {}", esc(place), tanggal(ba.date)),
            None => tanggal(ba.date),
        },
    );
    for s in &ba.signatories {
        signature(&mut h, &esc(&s.position), &s.name, s.nip.as_deref());
    }
    signature(
        &mut h,
        &format!("Mengetahui,<br>{}", esc(&ba.addressee.position)),
        &ba.addressee.name,
        extras
            .addressee_nip
            .as_deref()
            .or(ba.addressee.nip.as_deref()),
    );
    h.push_str("</div>\n</div>\n</body></html>\n");
    Some(h)
}
