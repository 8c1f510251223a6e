//! Writing a register as it is read: CSV and JSON sent a page of rows at a time, the workbook's
//! rows written to a temporary file (rust_xlsxwriter's constant-memory worksheet) and the
//! workbook then sent as it is zipped. No format holds the whole register in memory.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use paicha_domain::api::v1::{LedgerSummary, LedgerTable};
use paicha_domain::ledger::{CellKind, LedgerKind};
use tokio::sync::mpsc;

use super::rows::RowSource;
use crate::error::{ApiError, ApiResult};

/// Pieces of a body in flight between the writer and the connection.
const IN_FLIGHT: usize = 4;
/// How much of a zipped workbook is sent at a time.
const PIECE: usize = 64 * 1024;

type Piece = Result<Bytes, std::io::Error>;

/// The counts beside the rows (`LedgerKind::breakdowns`), kept as the rows go by.
pub(super) struct Tally {
    /// (title, column, its index, count by value)
    counts: Vec<(
        &'static str,
        &'static str,
        usize,
        std::collections::BTreeMap<String, u64>,
    )>,
}

impl Tally {
    pub fn new(kind: LedgerKind) -> Self {
        let columns = kind.columns();
        Self {
            counts: kind
                .breakdowns()
                .iter()
                .filter_map(|(title, column)| {
                    let at = columns.iter().position(|(h, _)| h == column)?;
                    Some((*title, *column, at, Default::default()))
                })
                .collect(),
        }
    }

    pub fn add(&mut self, row: &[String]) {
        for (_, _, at, counts) in &mut self.counts {
            let value = row.get(*at).map(String::as_str).unwrap_or_default();
            let key = if value.is_empty() { "未填写" } else { value };
            match counts.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(key.to_owned(), 1);
                }
            }
        }
    }

    /// Each breakdown, most frequent value first (then by value).
    pub fn summaries(self) -> Vec<LedgerSummary> {
        self.counts
            .into_iter()
            .map(|(title, column, _, counts)| {
                let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                LedgerSummary {
                    title: title.to_owned(),
                    column: column.to_owned(),
                    counts,
                }
            })
            .collect()
    }
}

/// The register `table` (its rows and summaries empty: they come from `rows`) in `format`,
/// sent as it is written. The first page is read before answering, so that a failure to read
/// it is answered as an error; a failure after the answer has begun ends the body unfinished.
/// A connection that takes no piece of the body for `wait` is given up (its writer stops).
pub(super) async fn respond(
    format: &str,
    table: LedgerTable,
    mut rows: RowSource,
    file_part: &str,
    wait: std::time::Duration,
) -> ApiResult<Response> {
    let first = rows.next().await?;
    match format {
        "json" => {
            let body = stream_text(
                table.kind,
                first,
                rows,
                wait,
                json_head(&table)?,
                move |out, tally| json_tail(out, &table, tally.summaries()),
            );
            let mut response = body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        "csv" => {
            let mut head = String::from("\u{FEFF}");
            let columns: Vec<String> = table.columns.clone();
            csv_line(&mut head, &columns);
            let body = stream_text(table.kind, first, rows, wait, head, |_, _| Ok(()));
            Ok(download(
                body,
                "text/csv; charset=utf-8",
                &table,
                file_part,
                "csv",
            ))
        }
        _ => {
            let body = xlsx(&table, first, rows, wait).await?;
            Ok(download(
                body,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &table,
                file_part,
                "xlsx",
            ))
        }
    }
}

fn download(
    body: Body,
    content_type: &'static str,
    table: &LedgerTable,
    part: &str,
    ext: &str,
) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(v) = crate::routes::attachment(
        &format!("{}.{ext}", table.kind.as_str()),
        &format!("{}{part}-{}.{ext}", table.title, table.generated_on),
    ) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A text body: `head`, each page of rows as CSV or JSON (by whether `tail` writes anything),
/// then `tail`. Written by a task of its own, a few pieces ahead of the connection.
fn stream_text(
    kind: LedgerKind,
    first: Option<Vec<Vec<String>>>,
    mut rows: RowSource,
    wait: std::time::Duration,
    head: String,
    tail: impl FnOnce(&mut String, Tally) -> ApiResult<()> + Send + 'static,
) -> Body {
    let json = !head.starts_with('\u{FEFF}');
    let (tx, rx) = mpsc::channel::<Piece>(IN_FLIGHT);
    tokio::spawn(async move {
        let mut tally = Tally::new(kind);
        let mut out = head;
        let mut page = first;
        let mut any = false;
        while let Some(rows_now) = page.take() {
            for row in &rows_now {
                tally.add(row);
                if json {
                    if any {
                        out.push(',');
                    }
                    // A row is a list of strings: it cannot fail to encode.
                    out.push_str(&serde_json::to_string(row).unwrap_or_default());
                } else {
                    csv_line(&mut out, row);
                }
                any = true;
            }
            let piece = Ok(Bytes::from(std::mem::take(&mut out)));
            if !matches!(tokio::time::timeout(wait, tx.send(piece)).await, Ok(Ok(()))) {
                return; // The client went away, or stopped reading.
            }
            match rows.next().await {
                Ok(next) => page = next,
                Err(err) => {
                    tracing::error!(error = ?err, "a register's rows could not be read while it was sent");
                    let failed = Err(std::io::Error::other("the register could not be read"));
                    let _ = tokio::time::timeout(wait, tx.send(failed)).await;
                    return;
                }
            }
        }
        let end = match tail(&mut out, tally) {
            Ok(()) => Ok(Bytes::from(out)),
            Err(err) => {
                tracing::error!(error = ?err, "a register's end could not be written");
                Err(std::io::Error::other("the register could not be written"))
            }
        };
        let _ = tokio::time::timeout(wait, tx.send(end)).await;
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// The JSON of `table` up to its rows: `{…,"rows":[`. The same fields in the same order as
/// `LedgerTable` serialises (a test compares the whole with serde's).
fn json_head(table: &LedgerTable) -> ApiResult<String> {
    #[derive(serde::Serialize)]
    struct Head<'a> {
        kind: LedgerKind,
        title: &'a str,
        org_unit_id: uuid::Uuid,
        org_unit_name: &'a str,
        generated_on: chrono::NaiveDate,
        prepared_by: &'a str,
        columns: &'a [String],
    }
    let mut head = serde_json::to_string(&Head {
        kind: table.kind,
        title: &table.title,
        org_unit_id: table.org_unit_id,
        org_unit_name: &table.org_unit_name,
        generated_on: table.generated_on,
        prepared_by: &table.prepared_by,
        columns: &table.columns,
    })
    .map_err(ApiError::internal)?;
    head.pop(); // the closing brace
    head.push_str(",\"rows\":[");
    Ok(head)
}

/// The JSON after the rows: `],"summaries":…,"sections":…,"unsubmitted":…,"part_zh":…}`.
fn json_tail(
    out: &mut String,
    table: &LedgerTable,
    summaries: Vec<LedgerSummary>,
) -> ApiResult<()> {
    #[derive(serde::Serialize)]
    struct Tail<'a> {
        summaries: Vec<LedgerSummary>,
        sections: &'a [paicha_domain::api::v1::LedgerSection],
        unsubmitted: Option<u64>,
        part_zh: &'a str,
    }
    let tail = serde_json::to_string(&Tail {
        summaries,
        sections: &table.sections,
        unsubmitted: table.unsubmitted,
        part_zh: &table.part_zh,
    })
    .map_err(ApiError::internal)?;
    out.push_str("],");
    out.push_str(tail.strip_prefix('{').unwrap_or(&tail));
    Ok(())
}

/// One line of CSV in UTF-8 (the body starts with a byte-order mark, which Excel needs to read
/// Chinese correctly). Every cell goes through [`neutralise`], so no value becomes a formula
/// when the file is opened.
fn csv_line(out: &mut String, cells: &[String]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let s = neutralise(cell);
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&s);
        }
    }
    out.push_str("\r\n");
}

/// A CSV cell that a spreadsheet would read as a formula (CSV injection) — text beginning with
/// `=`, `+`, `-`, `@`, a tab or a carriage return — gets a leading apostrophe, so Excel and
/// WPS show it as text. The register's cells are all text to the writer; a plain decimal number
/// (`-3`, `+86`, `1.5`: digits with at most a sign and one decimal point) cannot be a formula and
/// is left as it is, so numbers stay numbers. The workbook needs none of this: its cells are
/// written as typed text, never as formulas.
pub(super) fn neutralise(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// Digits with an optional leading sign and at most one decimal point between digits.
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

/// `2016年3月11日` (how [`paicha_domain::ledger::date_zh`] writes a date) back to its parts.
fn parse_date_zh(text: &str) -> Option<(u16, u8, u8)> {
    let (year, rest) = text.split_once('年')?;
    let (month, rest) = rest.split_once('月')?;
    let day = rest.strip_suffix('日')?;
    Some((year.parse().ok()?, month.parse().ok()?, day.parse().ok()?))
}

/// How wide a text shows, in Excel's character units: a CJK character takes two.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The workbook as it is written: the register's sheet in constant-memory mode (each row goes
/// to a temporary file once the next begins), its cell formats, how wide each column must be.
struct Sheet {
    workbook: rust_xlsxwriter::Workbook,
    kinds: Vec<CellKind>,
    widths: Vec<usize>,
    text: rust_xlsxwriter::Format,
    number: rust_xlsxwriter::Format,
    date: rust_xlsxwriter::Format,
    subtitle: rust_xlsxwriter::Format,
    /// The rows written so far.
    rows: usize,
}

/// The register's sheet: the first of the workbook.
const REGISTER: usize = 0;

impl Sheet {
    /// The title across the table, the unit and date, the headers.
    fn begin(table: &LedgerTable) -> Result<Self, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(table.title.chars().take(31).collect::<String>())?;
        let last = u16::try_from(table.columns.len().max(1)).unwrap_or(u16::MAX) - 1;
        let title = Format::new()
            .set_bold()
            .set_font_size(16)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        let subtitle = Format::new().set_align(FormatAlign::Left);
        let header = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border(FormatBorder::Thin)
            .set_background_color("#EFEFEF");
        let text = Format::new()
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter)
            .set_border(FormatBorder::Thin);
        let number = text.clone().set_align(FormatAlign::Center);
        let date = number.clone().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
        let generated =
            paicha_domain::ledger::date_zh(&table.generated_on.to_string()).unwrap_or_default();
        // Which part of the register it is (a submission's line, or 未报送条目), after the date.
        let part = if table.part_zh.is_empty() {
            String::new()
        } else {
            format!("　{}", table.part_zh)
        };
        let unit_line = format!("单位：{}　日期：{generated}{part}", table.org_unit_name);
        // Heights first: a row is final once the next is written.
        sheet.set_row_height(0, 28)?;
        sheet.set_row_height(2, 48)?;
        if last > 0 {
            sheet.merge_range(0, 0, 0, last, &table.title, &title)?;
            sheet.merge_range(1, 0, 1, last, &unit_line, &subtitle)?;
        } else {
            sheet.write_string_with_format(0, 0, &table.title, &title)?;
            sheet.write_string(1, 0, unit_line)?;
        }
        // A long heading wraps onto two lines: it asks for half its width (6 to 12).
        let widths = table
            .columns
            .iter()
            .map(|h| {
                display_width(h)
                    .div_ceil(2)
                    .clamp(6, 12)
                    .min(display_width(h))
            })
            .collect();
        for (c, heading) in table.columns.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            sheet.write_string_with_format(2, col, heading, &header)?;
        }
        Ok(Self {
            workbook,
            kinds: table.kind.cell_kinds(),
            widths,
            text,
            number,
            date,
            subtitle,
            rows: 0,
        })
    }

    /// The next rows, numbers and dates as Excel numbers and dates.
    fn write(&mut self, rows: &[Vec<String>]) -> Result<(), rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::ExcelDateTime;
        let sheet = self.workbook.worksheet_from_index(REGISTER)?;
        for row in rows {
            let line = u32::try_from(self.rows + 3).unwrap_or(u32::MAX);
            self.rows += 1;
            for (c, value) in row.iter().enumerate() {
                let col = u16::try_from(c).unwrap_or(u16::MAX);
                if let Some(w) = self.widths.get_mut(c) {
                    *w = (*w).max(display_width(value));
                }
                let kind = self.kinds.get(c).copied().unwrap_or(CellKind::Text);
                let as_number = (kind == CellKind::Number)
                    .then(|| value.parse::<f64>().ok())
                    .flatten();
                let as_date = (kind == CellKind::Date)
                    .then(|| parse_date_zh(value))
                    .flatten()
                    .and_then(|(y, m, d)| ExcelDateTime::from_ymd(y, m, d).ok());
                if let Some(n) = as_number {
                    sheet.write_number_with_format(line, col, n, &self.number)?;
                } else if let Some(day) = as_date {
                    sheet.write_datetime_with_format(line, col, &day, &self.date)?;
                } else {
                    sheet.write_string_with_format(line, col, value, &self.text)?;
                }
            }
        }
        Ok(())
    }

    /// The sign-off line below the rows, the columns' widths, the page set-up, the breakdowns
    /// on a sheet of their own: the workbook ready to be zipped. A4, landscape when the
    /// register is wide, fitted to the page width, title and headers repeated on every page,
    /// page numbers in the footer.
    fn finish(
        mut self,
        table: &LedgerTable,
        summaries: &[LedgerSummary],
    ) -> Result<rust_xlsxwriter::Workbook, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::Format;
        let last = u16::try_from(table.columns.len().max(1)).unwrap_or(u16::MAX) - 1;
        let sheet = self.workbook.worksheet_from_index(REGISTER)?;
        // Wide enough for what the column holds, within reason: long texts wrap.
        for (c, width) in self.widths.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            let fit = (*width).clamp(4, 24) + 1;
            sheet.set_column_width(col, u32::try_from(fit).unwrap_or(32))?;
        }
        // The sign-off lines of a register handed upward: who filled it in, who audited it,
        // when it was sent (the last two are written by hand on the printed sheet).
        let after = u32::try_from(self.rows + 4).unwrap_or(u32::MAX);
        let sign_off = format!(
            "填报单位：{}　　填报人：{}　　审核人：＿＿＿＿＿＿　　报送日期：＿＿＿＿年＿＿月＿＿日",
            table.org_unit_name, table.prepared_by
        );
        if last > 0 {
            sheet.merge_range(after, 0, after, last, &sign_off, &self.subtitle)?;
        } else {
            sheet.write_string(after, 0, sign_off)?;
        }
        sheet.set_paper_size(9);
        if table.kind.is_wide() {
            sheet.set_landscape();
        }
        sheet.set_print_fit_to_pages(1, 0);
        sheet.set_print_center_horizontally(true);
        sheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
        sheet.set_repeat_rows(0, 2)?;
        sheet.set_freeze_panes(3, 0)?;
        sheet.set_footer("&C第 &P 页，共 &N 页");
        // The breakdowns on a sheet of their own, so the register's sheet stays one table.
        if !summaries.is_empty() {
            let bold = Format::new().set_bold();
            let sheet = self.workbook.add_worksheet();
            sheet.set_name("分类统计")?;
            sheet.write_string_with_format(0, 0, format!("{}分类统计", table.title), &bold)?;
            sheet.set_column_width(0, 24)?;
            sheet.set_paper_size(9);
            let mut line: u32 = 2;
            for summary in summaries {
                sheet.write_string_with_format(line, 0, &summary.title, &bold)?;
                sheet.write_string_with_format(line, 1, "人数", &bold)?;
                line += 1;
                for (value, n) in &summary.counts {
                    sheet.write_string(line, 0, value)?;
                    sheet.write_number(line, 1, *n as f64)?;
                    line += 1;
                }
                line += 1;
            }
        }
        Ok(self.workbook)
    }
}

/// Runs `work` on the blocking pool (the workbook writes files and compresses).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, rust_xlsxwriter::XlsxError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// The workbook: its rows written first (to the sheet's temporary file), then a body that
/// zips it as the connection takes it.
async fn xlsx(
    table: &LedgerTable,
    first: Option<Vec<Vec<String>>>,
    mut rows: RowSource,
    wait: std::time::Duration,
) -> ApiResult<Body> {
    let begun = table.clone();
    let mut sheet = blocking(move || Sheet::begin(&begun)).await?;
    let mut tally = Tally::new(table.kind);
    let mut page = first;
    while let Some(rows_now) = page.take() {
        for row in &rows_now {
            tally.add(row);
        }
        // The next page is read while this one is written.
        let writing = tokio::task::spawn_blocking(move || sheet.write(&rows_now).map(|()| sheet));
        let next = rows.next().await;
        sheet = writing
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        page = next?;
    }
    let summaries = tally.summaries();
    let ended = table.clone();
    let mut workbook = blocking(move || sheet.finish(&ended, &summaries)).await?;
    let (tx, rx) = mpsc::channel::<Piece>(IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut out = Pieces {
            tx,
            piece: Vec::with_capacity(PIECE),
            runtime,
            wait,
        };
        let saved = workbook
            .save_to_writer(&mut out)
            .map_err(std::io::Error::other);
        let end = saved.and_then(|()| out.send());
        if let Err(err) = end {
            // Told to the connection unless the client went away (then nobody is told).
            tracing::warn!(error = %err, "a workbook could not be sent whole");
            let _ = out.put(Err(err));
        }
    });
    Ok(Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ))
}

/// The zipped workbook, in pieces of [`PIECE`] bytes to the connection, from a blocking
/// thread.
struct Pieces {
    tx: mpsc::Sender<Piece>,
    piece: Vec<u8>,
    runtime: tokio::runtime::Handle,
    /// How long the connection may take to accept a piece.
    wait: std::time::Duration,
}

impl Pieces {
    /// The piece gathered so far.
    fn send(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        self.put(Ok(Bytes::from(piece)))
    }

    /// Hands `piece` to the connection: an error once it went away or stopped reading.
    fn put(&self, piece: Piece) -> std::io::Result<()> {
        let sent = self
            .runtime
            .block_on(tokio::time::timeout(self.wait, self.tx.send(piece)));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::ErrorKind::BrokenPipe.into()),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
}

impl std::io::Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(PIECE - self.piece.len());
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() == PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised_and_numbers_kept() {
        let table: &[(&str, &str)] = &[
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd", "'+cmd"),
            ("-1+1", "'-1+1"),
            ("-2-3", "'-2-3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-", "'-"),
            ("+", "'+"),
            ("-.5", "'-.5"),
            ("1.", "1."),
            ("-12", "-12"),
            ("+8613800000000", "+8613800000000"),
            ("-3.25", "-3.25"),
            ("张三", "张三"),
            ("2016年3月11日", "2016年3月11日"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (raw, expected) in table {
            assert_eq!(neutralise(raw), *expected, "{raw:?}");
        }
    }

    /// A register of the mobile (it has a breakdown) with `n` rows, as the route fills it.
    fn mobile(n: usize) -> (LedgerTable, Vec<Vec<String>>) {
        let kind = LedgerKind::MobileRegister;
        let columns: Vec<String> = kind
            .columns()
            .iter()
            .map(|(h, _)| (*h).to_owned())
            .collect();
        let at = columns.iter().position(|c| c == "流出去向").unwrap();
        let rows: Vec<Vec<String>> = (0..n)
            .map(|i| {
                let mut row = vec![String::new(); columns.len()];
                row[0] = (i + 1).to_string();
                row[3] = format!("党员\"{i}\",=1");
                row[at] = ["广东省深圳市", "", "北京市"][i % 3].to_owned();
                row
            })
            .collect();
        let table = LedgerTable {
            kind,
            title: kind.title_zh().to_owned(),
            org_unit_id: uuid::Uuid::now_v7(),
            org_unit_name: "第一工作区".into(),
            generated_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            prepared_by: "张三".into(),
            columns,
            rows: Vec::new(),
            summaries: Vec::new(),
            sections: Vec::new(),
            unsubmitted: Some(3),
            part_zh: "未报送条目".into(),
        };
        (table, rows)
    }

    async fn body_of(format: &str, table: LedgerTable, rows: Vec<Vec<String>>) -> Vec<u8> {
        let rows = RowSource::Ready(rows.into_iter());
        let wait = std::time::Duration::from_secs(5);
        let response = respond(format, table, rows, "", wait).await.unwrap();
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    /// The streamed JSON is what serde writes for the whole table, over several pages and
    /// none, its breakdown counted over every page.
    #[tokio::test]
    async fn streamed_json_is_the_table_serde_writes() {
        for n in [0, 1, super::super::rows::PAGE * 2 + 7] {
            let (table, rows) = mobile(n);
            let streamed = body_of("json", table.clone(), rows.clone()).await;
            let mut whole = table;
            let mut tally = Tally::new(whole.kind);
            for row in &rows {
                tally.add(row);
            }
            whole.summaries = tally.summaries();
            whole.rows = rows;
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                serde_json::to_string(&whole).unwrap(),
                "{n} rows"
            );
            if n > 2 {
                let counts = &whole.summaries[0].counts;
                let total: u64 = counts.iter().map(|(_, c)| c).sum();
                assert_eq!(total, n as u64);
                assert!(counts.iter().any(|(v, _)| v == "未填写"), "{counts:?}");
            }
        }
    }

    /// The streamed CSV: the byte-order mark, the headers, then every row over several pages,
    /// quoted and neutralised.
    #[tokio::test]
    async fn streamed_csv_holds_every_row_once() {
        let n = super::super::rows::PAGE + 3;
        let (table, rows) = mobile(n);
        let headers = table.columns.join(",");
        let text = String::from_utf8(body_of("csv", table, rows).await).unwrap();
        let text = text.strip_prefix('\u{FEFF}').unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], headers);
        assert_eq!(
            lines.len(),
            n + 2,
            "headers, the rows, and nothing after the last CRLF"
        );
        assert_eq!(lines[n + 1], "");
        assert!(
            lines[1].starts_with("1,,,\"党员\"\"0\"\",=1\","),
            "{}",
            lines[1]
        );
        assert!(lines[n].starts_with(&format!("{n},")), "{}", lines[n]);
    }
}
