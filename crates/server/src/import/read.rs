//! Reading a spreadsheet with bounded memory: an .xlsx's parts inflated through a bounded
//! reader and its shared strings counted before calamine opens it, the sheet read cell by cell
//! (never as calamine's dense `Range`), a CSV record by record; refused past the limits.

use std::io::Cursor;

/// A cell as text. Dates typed as Excel dates become `YYYY-MM-DD`; whole numbers lose the
/// `.0`; an ID number typed as a number cannot be trusted (Excel keeps 15 digits) and is
/// flagged.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    let serial_date = |days: f64| {
        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|base| base.checked_add_days(chrono::Days::new(days.max(0.0).floor() as u64)))
            .map(|d| format!("#date:{}", d.format("%Y-%m-%d")))
            .unwrap_or_default()
    };
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => format!("#number:{f}"),
        Data::DateTime(d) => serial_date(d.as_f64()),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::Empty | Data::Error(_) => String::new(),
    }
}

/// The largest sheet a roster or a transfer list can be: more rows or columns than this (declared
/// or used) and the file is refused before it is read.
pub const MAX_ROWS: u32 = 100_000;
pub const MAX_COLUMNS: u32 = 200;
/// At most this many non-empty cells (and shared strings) in a sheet: 100,000 rows of 20 filled
/// columns.
pub const MAX_CELLS: usize = 2_000_000;
/// The parts of a workbook may inflate to this many bytes in all.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;
/// A workbook has a few dozen parts.
const MAX_ZIP_ENTRIES: usize = 1_000;
/// A CSV record (a line, or more than one when a quoted cell holds line breaks) longer than
/// this is refused.
pub const MAX_CSV_RECORD_BYTES: usize = 64 * 1024;

/// A row of a sheet as read: its non-empty cells as text, by column index, in column order.
#[derive(Debug, Default)]
pub(super) struct Row(Vec<(u32, String)>);

impl Row {
    pub(super) fn get(&self, column: u32) -> &str {
        self.0
            .binary_search_by_key(&column, |(c, _)| *c)
            .map_or("", |i| self.0[i].1.as_str())
    }

    pub(super) fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, t)| t.as_str())
    }

    /// Its cells: (column index, text), in column order.
    pub(super) fn cells(&self) -> &[(u32, String)] {
        &self.0
    }
}

/// The rows of a sheet that have cells, with their 1-based row numbers, in order.
pub(super) type Rows = Vec<(u64, Row)>;

fn too_large() -> String {
    format!(
        "文件超出花名册的大小上限（{MAX_ROWS}行、{MAX_COLUMNS}列、{MAX_CELLS}个单元格），请拆分后导入"
    )
}

/// Checks an .xlsx before calamine reads it, without trusting what the zip declares: each part
/// is inflated through a bounded reader (all parts together at most `MAX_INFLATED_BYTES`), and
/// the shared-string table may neither announce nor hold more than `MAX_CELLS` strings
/// (calamine reserves room for the announced count up front).
fn check_workbook(bytes: &[u8]) -> Result<(), String> {
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| format!("无法读取 Excel 文件：{e}");
    let inflated_too_large = || {
        format!(
            "Excel 文件解压后超过 {} MiB，不像花名册",
            MAX_INFLATED_BYTES >> 20
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(unreadable(&"文件中的部件过多"));
    }
    let mut left = MAX_INFLATED_BYTES;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let shared_strings = entry
            .name()
            .map_err(|e| unreadable(&e))?
            .eq_ignore_ascii_case("xl/sharedStrings.xml");
        // One byte more than the budget: reading it means the budget is exceeded.
        let mut bounded = entry.take(left + 1);
        let scanned = if shared_strings {
            count_shared_strings(&mut bounded).map(|_| ())
        } else {
            std::io::copy(&mut bounded, &mut std::io::sink())
                .map(|_| ())
                .map_err(|e| unreadable(&e))
        };
        let used = (left + 1) - bounded.limit();
        if used > left {
            return Err(inflated_too_large());
        }
        scanned?;
        // Drain what the scan left unread, so that it counts too.
        let rest = std::io::copy(&mut bounded, &mut std::io::sink()).map_err(|e| unreadable(&e))?;
        if used + rest > left {
            return Err(inflated_too_large());
        }
        left -= used + rest;
    }
    Ok(())
}

/// Reads a shared-string table in small chunks, refusing more than `MAX_CELLS` strings,
/// announced (the `count` and `uniqueCount` of `<sst>`, for which calamine reserves room up
/// front) or present (`<si>` elements, prefixed or not). A byte scan, not an XML parse: an XML
/// reader would buffer a text node whole, and a hostile one can be the whole part.
fn count_shared_strings(part: &mut impl std::io::Read) -> Result<usize, String> {
    /// The longest `<sst …>` start tag taken.
    const MAX_TAG: usize = 4096;
    let mut chunk = vec![0u8; 64 * 1024];
    // The end of the previous chunk, so that a name split between two chunks is still seen.
    let mut window: Vec<u8> = Vec::with_capacity(chunk.len() + 8);
    let mut strings = 0usize;
    // The `<sst` start tag while it is being read, then its end seen.
    let mut sst_tag: Option<Vec<u8>> = None;
    let mut sst_done = false;
    loop {
        let n = part
            .read(&mut chunk)
            .map_err(|e| format!("无法读取 Excel 文件：{e}"))?;
        if n == 0 {
            return Ok(strings);
        }
        let carried = window.len();
        window.extend_from_slice(&chunk[..n]);
        // Element names: `<si` or `:si` (a prefixed name) followed by a delimiter; likewise
        // `sst`. A match lying wholly in the carried bytes was counted with the last chunk.
        let delimited = |b: u8| matches!(b, b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n');
        let mut sst_at = None;
        for i in 0..window.len().saturating_sub(3) {
            if window[i] != b'<' && window[i] != b':' {
                continue;
            }
            if &window[i + 1..i + 3] == b"si" && delimited(window[i + 3]) && i + 3 >= carried {
                strings += 1;
                if strings > MAX_CELLS {
                    return Err(too_large());
                }
            }
            if !sst_done
                && sst_tag.is_none()
                && sst_at.is_none()
                && i + 4 < window.len()
                && &window[i + 1..i + 4] == b"sst"
                && delimited(window[i + 4])
                && i + 4 >= carried
            {
                sst_at = Some(i);
            }
        }
        // The `<sst …>` start tag, collected up to its `>` (perhaps over several chunks).
        let from = match (sst_at, sst_tag.is_some()) {
            (Some(at), _) => Some(at),
            (None, true) => Some(carried),
            (None, false) => None,
        };
        if let Some(from) = from {
            let tag = sst_tag.get_or_insert_with(Vec::new);
            let rest = &window[from..];
            match rest.iter().position(|b| *b == b'>') {
                Some(end) => {
                    tag.extend_from_slice(&rest[..end]);
                    check_announced_count(tag)?;
                    sst_tag = None;
                    sst_done = true;
                }
                None => tag.extend_from_slice(rest),
            }
            if sst_tag.as_ref().is_some_and(|t| t.len() > MAX_TAG) {
                return Err("无法读取 Excel 文件：共享字符串表的开始标签过长".to_owned());
            }
        }
        let keep = window.len().saturating_sub(4);
        window.drain(..keep);
    }
}

/// The `count` and `uniqueCount` of an `<sst …` start tag: absent, or at most `MAX_CELLS`.
fn check_announced_count(tag: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(tag);
    for name in ["count", "uniqueCount"] {
        let mut rest = text.as_ref();
        while let Some(at) = rest.find(name) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + name.len()..];
            if !before.is_some_and(|c| c.is_whitespace() || c == ':') {
                continue;
            }
            let Some(value) = rest
                .trim_start()
                .strip_prefix('=')
                .map(str::trim_start)
                .and_then(|v| v.strip_prefix(['"', '\'']))
            else {
                continue;
            };
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            if digits.parse::<u64>().map_or(true, |n| n > MAX_CELLS as u64) {
                return Err(too_large());
            }
        }
    }
    Ok(())
}

/// The first sheet of an .xlsx, cell by cell (never as calamine's dense grid, which a sheet
/// using `A1` and `XFD1048576` would make 17 billion cells): refused when its declared
/// dimension or any cell lies beyond `MAX_ROWS` × `MAX_COLUMNS`, or when it has more than
/// `MAX_CELLS` cells.
pub(super) fn read_xlsx(bytes: &[u8]) -> Result<Rows, String> {
    use calamine::Reader;
    check_workbook(bytes)?;
    let mut workbook: calamine::Xlsx<_> =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("无法读取 Excel 文件：{e}"))?;
    let name = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| "Excel 文件中没有工作表".to_owned())?;
    let mut cells = workbook
        .worksheet_cells_reader(&name)
        .map_err(|e| format!("无法读取工作表：{e}"))?;
    let within = |(row, column): (u32, u32)| row < MAX_ROWS && column < MAX_COLUMNS;
    let declared = cells.dimensions();
    if !within(declared.start) || !within(declared.end) {
        return Err(too_large());
    }
    let mut rows: std::collections::BTreeMap<u32, Row> = std::collections::BTreeMap::new();
    let mut count = 0usize;
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| format!("无法读取工作表：{e}"))?
    {
        let position = cell.get_position();
        if !within(position) {
            return Err(too_large());
        }
        let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_CELLS {
            return Err(too_large());
        }
        rows.entry(position.0)
            .or_default()
            .0
            .push((position.1, text));
    }
    Ok(rows
        .into_iter()
        .map(|(index, mut row)| {
            // Cells come in column order, unless the file is odd; the last of a column wins.
            row.0.sort_by_key(|(c, _)| *c);
            row.0.dedup_by(|later, earlier| {
                let same = later.0 == earlier.0;
                if same {
                    std::mem::swap(later, earlier);
                }
                same
            });
            (u64::from(index) + 1, row)
        })
        .collect())
}

/// CSV (UTF-8, with or without a BOM; quoted cells with `""` escapes). Refused, as soon as it
/// shows, when a record is longer than `MAX_CSV_RECORD_BYTES` or the file has more than
/// `MAX_ROWS` records or `MAX_COLUMNS` columns.
pub(super) fn read_csv(bytes: &[u8]) -> Result<Rows, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "CSV 文件应为 UTF-8 编码".to_owned())?;
    let text = text.trim_start_matches('\u{FEFF}');
    let too_long = || {
        format!(
            "CSV 文件中有超过 {} KiB 的行，不像花名册",
            MAX_CSV_RECORD_BYTES >> 10
        )
    };
    let mut rows: Rows = Vec::new();
    let mut row = Row::default();
    let mut record_bytes = 0usize;
    let mut cell = String::new();
    let mut quoted = false;
    let mut count = 0u64;
    let mut column = 0u32;
    let end_cell = |row: &mut Row, cell: &mut String, column: &mut u32| -> Result<(), String> {
        if *column >= MAX_COLUMNS {
            return Err(too_large());
        }
        if !cell.is_empty() {
            row.0.push((*column, std::mem::take(cell)));
        }
        *column += 1;
        Ok(())
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        record_bytes += c.len_utf8();
        if record_bytes > MAX_CSV_RECORD_BYTES {
            return Err(too_long());
        }
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => end_cell(&mut row, &mut cell, &mut column)?,
            (false, '\r') => {}
            (false, '\n') => {
                end_cell(&mut row, &mut cell, &mut column)?;
                count += 1;
                if count > u64::from(MAX_ROWS) {
                    return Err(too_large());
                }
                if !row.0.is_empty() {
                    rows.push((count, std::mem::take(&mut row)));
                }
                column = 0;
                record_bytes = 0;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("CSV 文件中有未闭合的引号".to_owned());
    }
    if !cell.is_empty() || column > 0 {
        end_cell(&mut row, &mut cell, &mut column)?;
        count += 1;
        if count > u64::from(MAX_ROWS) {
            return Err(too_large());
        }
        if !row.0.is_empty() {
            rows.push((count, row));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xml: &str) -> Result<usize, String> {
        count_shared_strings(&mut xml.as_bytes())
    }

    #[test]
    fn a_shared_string_table_may_not_announce_more_strings_than_a_roster_has() {
        assert_eq!(
            strings(r#"<sst count="3" uniqueCount="2"><si><t>a</t></si></sst>"#),
            Ok(1)
        );
        assert_eq!(
            strings(r#"<x:sst uniqueCount='2000000'><x:si/></x:sst>"#),
            Ok(1)
        );
        for tag in [
            r#"<sst uniqueCount="2000001">"#,
            r#"<sst count = "99999999999999999999999">"#,
            r#"<x:sst xmlns:x="m" uniqueCount="18446744073709551615">"#,
            r#"<sst uniqueCount="-1">"#,
        ] {
            assert!(strings(&format!("{tag}</sst>")).is_err(), "{tag}");
        }
    }

    #[test]
    fn shared_strings_are_counted_once_across_chunk_boundaries() {
        // The scan reads 64 KiB at a time: shift ten `<si>` and a long `<sst …>` tag over a
        // boundary at every offset.
        for shift in 0..12 {
            let mut xml = " ".repeat(64 * 1024 - 8 + shift);
            xml.push_str(r#"<sst    uniqueCount="3000000">"#);
            assert!(strings(&xml).is_err(), "shift {shift}");
            let mut xml = " ".repeat(64 * 1024 - 20 + shift);
            xml.push_str("<sst>");
            for _ in 0..10 {
                xml.push_str("<si><t>x</t></si>");
            }
            xml.push_str("</sst>");
            assert_eq!(strings(&xml), Ok(10), "shift {shift}");
        }
    }
}
