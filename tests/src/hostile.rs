//! Files made to hurt a spreadsheet reader, for the import tests (also included by the binary
//! tests of `paicha-server`): each is small on the wire and huge once read naively.

use std::io::Write;

/// A zip written by hand, so that its parts can be anything (and its sizes what we say).
struct Part {
    name: &'static str,
    /// 0 stored, 8 deflated.
    method: u16,
    crc: u32,
    size: u32,
    data: Vec<u8>,
}

impl Part {
    /// A part deflated, as Excel writes them.
    fn deflated(name: &'static str, text: &str) -> Self {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(text.as_bytes()).unwrap();
        Part {
            name,
            method: 8,
            crc: crc32fast::hash(text.as_bytes()),
            size: u32::try_from(text.len()).unwrap_or(u32::MAX),
            data: encoder.finish().unwrap(),
        }
    }
}

fn zip(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for p in parts {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let compressed = u32::try_from(p.data.len()).unwrap_or(u32::MAX);
        let name = p.name.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, p.method, 0, 0x21] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [p.crc, compressed, p.size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&p.data);
        // Central directory header.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, p.method, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [p.crc, compressed, p.size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let central_len = u32::try_from(central.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(parts.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOC_RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The parts every workbook here has: one sheet, `xl/worksheets/sheet1.xml`, and a
/// shared-string table if `shared_strings`.
fn skeleton(shared_strings: bool) -> Vec<Part> {
    let strings = if shared_strings {
        format!(
            r#"<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>"#
        )
    } else {
        String::new()
    };
    vec![
        Part::deflated(
            "[Content_Types].xml",
            r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        Part::deflated(
            "_rels/.rels",
            &format!(
                r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        Part::deflated(
            "xl/workbook.xml",
            &format!(
                r#"<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets><sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        Part::deflated(
            "xl/_rels/workbook.xml.rels",
            &format!(
                r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>{strings}</Relationships>"#
            ),
        ),
    ]
}

/// A workbook whose only cells are `A1` (a header) and `XFD1048576`, the last cell a sheet
/// can have: about 1.5 KB, and a dense grid of 1.7·10¹⁰ cells to a reader that makes one.
/// With `honest_dimension` false the sheet declares `A1:B1` instead of `A1:XFD1048576`, so
/// only its cells tell.
pub fn last_cell_xlsx(honest_dimension: bool) -> Vec<u8> {
    let dimension = if honest_dimension {
        "A1:XFD1048576"
    } else {
        "A1:B1"
    };
    headers_and(
        dimension,
        r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
    )
}

/// The same workbook without its far cell: a roster's header row and no members, which any
/// reader takes (the control of `last_cell_xlsx`).
pub fn headers_only_xlsx() -> Vec<u8> {
    headers_and("A1:B1", "")
}

fn headers_and(dimension: &str, more_rows: &str) -> Vec<u8> {
    let mut parts = skeleton(false);
    parts.push(Part::deflated(
        "xl/worksheets/sheet1.xml",
        &format!(
            r#"<worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>公民身份号码</t></is></c></row>{more_rows}</sheetData></worksheet>"#
        ),
    ));
    zip(&parts)
}

/// A workbook whose shared-string table is one part of 2 GiB of zeros that deflates to about
/// 2 MB (a zip bomb), with an ordinary sheet.
pub fn shared_strings_bomb_xlsx() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const CHUNK: usize = 1 << 20;
    const CHUNKS: usize = 2048;
    let zeros = vec![0u8; CHUNK];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut compress = |input: &[u8], flush| {
        let mut out = Vec::with_capacity(CHUNK);
        let before = deflate.total_in();
        deflate.compress_vec(input, &mut out, flush).unwrap();
        assert_eq!(deflate.total_in() - before, input.len() as u64);
        out
    };
    // A full flush resets the compressor, so every chunk after the first compresses to the
    // same bytes: compress three, repeat the second.
    let first = compress(&zeros, FlushCompress::Full);
    let second = compress(&zeros, FlushCompress::Full);
    let third = compress(&zeros, FlushCompress::Full);
    assert_eq!(second, third, "full-flushed chunks of zeros deflate alike");
    let mut data = first;
    for _ in 1..CHUNKS {
        data.extend_from_slice(&second);
    }
    data.extend_from_slice(&compress(&[], FlushCompress::Finish));
    // The CRC-32 of 2 GiB of zeros, by doubling the CRC of 1 MiB.
    let mut crc = crc32fast::Hasher::new();
    crc.update(&zeros);
    for _ in 0..CHUNKS.trailing_zeros() {
        let copy = crc.clone();
        crc.combine(&copy);
    }
    let size = u32::try_from(CHUNK * CHUNKS).unwrap_or(u32::MAX);

    let mut parts = skeleton(true);
    parts.push(Part::deflated(
        "xl/worksheets/sheet1.xml",
        &format!(
            r#"<worksheet xmlns="{MAIN}"><dimension ref="A1:B1"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>"#
        ),
    ));
    parts.push(Part {
        name: "xl/sharedStrings.xml",
        method: 8,
        crc: crc.finalize(),
        size,
        data,
    });
    zip(&parts)
}

/// A CSV whose second line is 4 MB long (one cell of 4,000,000 `x`).
pub fn long_line_csv() -> Vec<u8> {
    let mut csv = Vec::with_capacity(4_000_100);
    csv.extend_from_slice("姓名,公民身份号码\n".as_bytes());
    csv.extend(std::iter::repeat_n(b'x', 4_000_000));
    csv.write_all(b",1\n").unwrap();
    csv
}
