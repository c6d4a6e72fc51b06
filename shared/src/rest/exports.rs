//! What every export of the REST door shares (`GET /training-assignments/export`,
//! `GET /users/export`): RFC 4180 CSV that a spreadsheet opens safely, or JSON (the list's
//! objects), gzip when the client takes it, rows streamed page by page from the store into
//! the encoder, so memory holds one page and the encoded bytes, never the whole set.
//!
//! A Lambda response behind API Gateway is capped at 6 MB (a binary body counts in
//! base64). Up to `inline_limit_bytes` of encoded output the file is the response; past it,
//! the bytes so far and the rest go to S3 as a multipart upload, and the caller is sent a
//! presigned link (`303 See Other`), which any HTTP client follows. Each export says only
//! what a row is (`ExportTable`) and where its pages come from (`RowPages`).

use std::io::Write;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::export_files::{ExportBucket, FileHeaders, LINK_LIFETIME, PART_BYTES, Upload};
use crate::http::Reply;
use crate::ids::OrgId;
use crate::operations::row_pages::RowPages;
use crate::time::Date;

/// Encoded bytes a response may carry: 6 MB less base64's third and room for headers.
pub const DEFAULT_INLINE_LIMIT_BYTES: usize = 4_000_000;
/// API Gateway gives up on a request after 30 s; stop in time to answer with an error.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn parse(text: Option<&str>) -> ApiResult<ExportFormat> {
        match text {
            None | Some("csv") => Ok(ExportFormat::Csv),
            Some("json") => Ok(ExportFormat::Json),
            Some(_) => Err(ApiError::validation("format", "`format` must be csv or json")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Json => "application/json",
        }
    }
}

/// The file an export makes: `<stem>-<day>.<format>`, the day the export was made.
#[derive(Debug, Clone, Copy)]
pub struct ExportFile {
    /// `training-assignments`, `users`.
    pub stem: &'static str,
    pub format: ExportFormat,
    /// The client sent `Accept-Encoding: gzip`.
    pub gzip: bool,
}

impl ExportFile {
    pub fn name(self, day: Date) -> String {
        format!("{}-{day}.{}", self.stem, self.format.as_str())
    }
}

/// The body of a `303 See Other` to an export in S3 (the link is also `Location`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportLink {
    pub download_url: String,
    pub expires_in_seconds: u64,
    pub file_name: String,
    pub rows: usize,
    /// The file's size as stored (compressed where the request took gzip).
    pub bytes: usize,
}

use crate::model::csv_cells::starts_a_formula;
pub use crate::model::csv_cells::{LIST_SEPARATOR, neutralise, text};

/// What one export's rows are and how each is written.
pub trait ExportTable {
    type Row;
    /// The CSV header row.
    fn csv_header(&self) -> Vec<&'static str>;
    /// One CSV row, the header's columns in order, every free-text cell neutralised.
    fn csv_row(&self, row: &Self::Row, cells: &mut CsvRow);
    /// One JSON array element.
    fn write_json(&self, row: &Self::Row, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

/// The cells of one CSV row, as an export writes them: they collect in one record kept
/// across rows, so a row allocates nothing of its own (a `String` per cell was a few per
/// cent of an export's CPU). Free text is neutralised as it goes in.
#[derive(Debug, Default)]
pub struct CsvRow {
    record: csv::StringRecord,
    /// Where a cell is formatted before it joins the record.
    scratch: String,
}

impl CsvRow {
    /// An id, a date, a status, a number: its text as it is.
    pub fn value(&mut self, value: impl std::fmt::Display) -> &mut Self {
        self.cell(Some(value), false)
    }

    /// An optional value: an empty cell when absent.
    pub fn optional(&mut self, value: Option<impl std::fmt::Display>) -> &mut Self {
        self.cell(value, false)
    }

    /// Text a person or an integration wrote, neutralised (`neutralise`).
    pub fn free_text(&mut self, text: impl std::fmt::Display) -> &mut Self {
        self.cell(Some(text), true)
    }

    /// Optional free text: an empty cell when absent.
    pub fn optional_free_text(&mut self, text: Option<impl std::fmt::Display>) -> &mut Self {
        self.cell(text, true)
    }

    /// Several values in one cell, in their order, `LIST_SEPARATOR` between them.
    pub fn list<V: std::fmt::Display>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.list_cell(values, false)
    }

    /// Several free texts in one cell, the cell neutralised as a whole.
    pub fn free_text_list<V: std::fmt::Display>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.list_cell(values, true)
    }

    /// The cells so far.
    pub fn record(&self) -> &csv::StringRecord {
        &self.record
    }

    fn clear(&mut self) {
        self.record.clear();
    }

    fn cell(&mut self, value: Option<impl std::fmt::Display>, free_text: bool) -> &mut Self {
        self.list_cell(value, free_text)
    }

    fn list_cell<V: std::fmt::Display>(&mut self, values: impl IntoIterator<Item = V>, free_text: bool) -> &mut Self {
        use std::fmt::Write as _;
        self.scratch.clear();
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.scratch.push_str(LIST_SEPARATOR);
            }
            // Writing into a String cannot fail.
            let _ = write!(self.scratch, "{value}");
        }
        if free_text && starts_a_formula(&self.scratch) {
            self.scratch.insert(0, '\'');
        }
        self.record.push_field(&self.scratch);
        self
    }
}

/// `file_name` carries the export's date, taken once: the rows' statuses, the S3 key and
/// the name the caller saves the file under all say the same day, even across midnight.
pub enum Export {
    /// The whole file, to answer with.
    Inline {
        body: Vec<u8>,
        rows: usize,
        file_name: String,
    },
    /// The file is in S3 behind `link`.
    Stored {
        link: String,
        rows: usize,
        bytes: usize,
        file_name: String,
    },
}

pub struct ExportSettings<'a> {
    pub bucket: Option<&'a ExportBucket>,
    pub inline_limit_bytes: usize,
    /// An export still running after this answers 503 (the benchmark lifts it: the
    /// emulator's Query is far slower than DynamoDB's).
    pub time_budget: Duration,
}

/// Where encoded bytes collect until they are answered or sent to S3.
enum Sink {
    Plain(Vec<u8>),
    /// Boxed: the encoder's state is large, the sink moves with the encoder.
    Gzip(Box<GzEncoder<Vec<u8>>>),
}

impl Sink {
    fn buffer(&mut self) -> &mut Vec<u8> {
        match self {
            Sink::Plain(bytes) => bytes,
            Sink::Gzip(encoder) => encoder.get_mut(),
        }
    }

    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Sink::Plain(bytes) => Ok(bytes),
            Sink::Gzip(encoder) => encoder.finish(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(buffer) => buffer.write(bytes),
            Sink::Gzip(encoder) => encoder.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn encoding_failed(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("encoding the export failed: {error}"))
}

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// The format's framing around the rows, written into the sink page by page.
pub struct Encoder<'t, T: ExportTable> {
    table: &'t T,
    format: ExportFormat,
    sink: Sink,
    rows: usize,
    /// The CSV header's length: every row has as many cells.
    columns: usize,
    /// The row being encoded, its buffers kept from row to row.
    csv_row: CsvRow,
    /// The JSON of the page being encoded.
    json_page: Vec<u8>,
}

impl<'t, T: ExportTable> Encoder<'t, T> {
    pub fn new(table: &'t T, format: ExportFormat, gzip: bool) -> ApiResult<Self> {
        let mut sink = if gzip {
            Sink::Gzip(Box::new(GzEncoder::new(Vec::new(), Compression::default())))
        } else {
            Sink::Plain(Vec::new())
        };
        let columns = table.csv_header().len();
        let opening = match format {
            ExportFormat::Csv => {
                let mut header = csv_writer(Vec::new());
                header.write_record(table.csv_header()).map_err(encoding_failed)?;
                header.into_inner().map_err(|error| encoding_failed(error.error()))?
            }
            ExportFormat::Json => b"[".to_vec(),
        };
        sink.write_all(&opening).map_err(encoding_failed)?;
        Ok(Encoder {
            table,
            format,
            sink,
            rows: 0,
            columns,
            csv_row: CsvRow::default(),
            json_page: Vec::new(),
        })
    }

    /// Encodes one page of rows straight into the sink (the `csv` crate quotes per
    /// RFC 4180, through its own small buffer).
    pub fn page(&mut self, rows: &[T::Row]) -> ApiResult<()> {
        match self.format {
            ExportFormat::Csv => {
                let mut writer = csv_writer(&mut self.sink);
                for row in rows {
                    self.csv_row.clear();
                    self.table.csv_row(row, &mut self.csv_row);
                    if self.csv_row.record.len() != self.columns {
                        return Err(ApiError::internal(format!(
                            "an export row has {} cells under a header of {}",
                            self.csv_row.record.len(),
                            self.columns
                        )));
                    }
                    writer.write_record(self.csv_row.record()).map_err(encoding_failed)?;
                }
                writer.flush().map_err(encoding_failed)?;
            }
            ExportFormat::Json => {
                // serde_json writes token by token: the page collects first, in a buffer
                // kept across pages, and reaches the sink (gzip) in one write.
                self.json_page.clear();
                for (index, row) in rows.iter().enumerate() {
                    if self.rows + index > 0 {
                        self.json_page.push(b',');
                    }
                    self.table
                        .write_json(row, &mut self.json_page)
                        .map_err(encoding_failed)?;
                }
                self.sink.write_all(&self.json_page).map_err(encoding_failed)?;
            }
        }
        self.rows += rows.len();
        Ok(())
    }

    /// The encoded bytes collected so far (gzip holds up to a block more).
    fn buffer(&mut self) -> &mut Vec<u8> {
        self.sink.buffer()
    }

    pub fn finish(mut self) -> ApiResult<Vec<u8>> {
        if self.format == ExportFormat::Json {
            self.sink.write_all(b"]").map_err(encoding_failed)?;
        }
        self.sink.finish().map_err(encoding_failed)
    }
}

/// Reads every page of `source`, encodes it with `table` and answers with the file or a
/// link to it in S3. A failure part way aborts the S3 upload: no link ever points at a
/// missing or partial file.
pub async fn export<T, S>(
    table: &T,
    source: S,
    org: &OrgId,
    file: ExportFile,
    settings: &ExportSettings<'_>,
) -> ApiResult<Export>
where
    T: ExportTable,
    S: RowPages<Row = T::Row>,
{
    let today = source.today();
    let file_name = file.name(today);
    let mut upload = None;
    let result = Box::pin(encode(table, source, org, file, settings, &mut upload)).await;
    let (body, rows) = match (result, upload.take()) {
        (Ok(Encoded { body, rows }), None) if body.len() <= settings.inline_limit_bytes => {
            return Ok(Export::Inline { body, rows, file_name });
        }
        // gzip holds bytes back until the end: the file outgrew the response only then.
        (Ok(Encoded { body, rows }), None) => {
            upload = Some(start_spill(org, file, today, settings).await?);
            (body, rows)
        }
        (Ok(Encoded { body, rows }), Some(spill)) => {
            upload = Some(spill);
            (body, rows)
        }
        (Err(error), Some(spill)) => {
            spill.upload.abort().await;
            return Err(error);
        }
        (Err(error), None) => return Err(error),
    };
    let Some(mut spill) = upload else {
        return Err(ApiError::internal("an export spilled to S3 without an upload"));
    };
    let bytes = spill.sent + body.len();
    if let Err(error) = spill.upload.send_part(body).await {
        spill.upload.abort().await;
        return Err(error);
    }
    Ok(Export::Stored {
        link: spill.upload.finish().await?,
        rows,
        bytes,
        file_name,
    })
}

/// Starts the S3 file an export continues in.
async fn start_spill<'a>(
    org: &OrgId,
    file: ExportFile,
    today: Date,
    settings: &ExportSettings<'a>,
) -> ApiResult<Spill<'a>> {
    let bucket = settings
        .bucket
        .ok_or_else(|| ApiError::internal("the export needs the exports bucket, and EXPORT_BUCKET is not set"))?;
    let file_name = file.name(today);
    let key = format!(
        "exports/{org}/{today}/{}-{file_name}",
        crate::ids::new_ulid().to_string().to_lowercase()
    );
    let headers = FileHeaders {
        content_type: file.format.content_type(),
        content_encoding: file.gzip.then_some("gzip"),
        file_name,
    };
    Ok(Spill {
        upload: bucket.start(key, headers).await?,
        sent: 0,
    })
}

struct Encoded {
    /// The last bytes: the whole file, or what follows the parts already sent.
    body: Vec<u8>,
    rows: usize,
}

struct Spill<'a> {
    upload: Upload<'a>,
    sent: usize,
}

async fn encode<'a, T, S>(
    table: &T,
    mut source: S,
    org: &OrgId,
    file: ExportFile,
    settings: &ExportSettings<'a>,
    upload: &mut Option<Spill<'a>>,
) -> ApiResult<Encoded>
where
    T: ExportTable,
    S: RowPages<Row = T::Row>,
{
    let started = Instant::now();
    let today = source.today();
    let mut encoder = Encoder::new(table, file.format, file.gzip)?;
    let mut rows = 0;
    loop {
        if !source.is_done() && started.elapsed() > settings.time_budget {
            return Err(ApiError::unavailable(
                format!(
                    "the export did not finish within {} s; narrow it with the list's filters and export in parts",
                    settings.time_budget.as_secs()
                ),
                "DynamoDB",
                format!("the export read {rows} rows in its time budget"),
            ));
        }
        let Some(page) = source.next_page().await? else {
            break;
        };
        encoder.page(&page)?;
        rows += page.len();
        if upload.is_none() && encoder.buffer().len() > settings.inline_limit_bytes {
            *upload = Some(start_spill(org, file, today, settings).await?);
        }
        if let Some(spill) = upload.as_mut()
            && encoder.buffer().len() >= PART_BYTES
        {
            let part = std::mem::take(encoder.buffer());
            spill.sent += part.len();
            spill.upload.send_part(part).await?;
        }
    }
    Ok(Encoded {
        body: encoder.finish()?,
        rows,
    })
}

/// The answer to an export: the file itself, or a `303` to it in S3.
pub fn reply(export: Export, file: ExportFile) -> ApiResult<Reply> {
    match export {
        Export::Inline { body, rows, file_name } => {
            let mut headers = vec![
                ("content-disposition", format!("attachment; filename=\"{file_name}\"")),
                ("vary", "Accept-Encoding".to_string()),
                ("x-export-rows", rows.to_string()),
            ];
            let (text, bytes) = if file.gzip {
                headers.push(("content-encoding", "gzip".to_string()));
                (String::new(), Some(body))
            } else {
                (String::from_utf8(body).map_err(ApiError::internal)?, None)
            };
            Ok(Reply {
                status: 200,
                content_type: file.format.content_type(),
                headers,
                body: text,
                bytes,
            })
        }
        Export::Stored {
            link,
            rows,
            bytes,
            file_name,
        } => {
            let mut reply = Reply::json(
                303,
                &ExportLink {
                    download_url: link.clone(),
                    expires_in_seconds: LINK_LIFETIME.as_secs(),
                    file_name,
                    rows,
                    bytes,
                },
            )?;
            reply.headers.push(("location", link));
            Ok(reply)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised_and_others_kept() {
        for risky in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            let safe = neutralise(risky.to_string());
            assert_eq!(safe, format!("'{risky}"));
        }
        for plain in ["Substation Alpha", "José Ñúñez", "", "1=1", "a, \"b\"\nc"] {
            assert_eq!(neutralise(plain.to_string()), plain);
        }
    }

    #[test]
    fn a_csv_row_neutralises_free_text_only_and_joins_lists() {
        let mut cells = CsvRow::default();
        cells
            .value("-1")
            .free_text("-1")
            .optional(None::<u8>)
            .optional_free_text(Some("=SUM(A1)"))
            .list(["a", "b"])
            .free_text_list(["@x", "y"])
            .free_text_list(["x", "@y"])
            .list(Vec::<&str>::new());
        assert_eq!(
            cells.record().iter().collect::<Vec<_>>(),
            ["-1", "'-1", "", "'=SUM(A1)", "a; b", "'@x; y", "x; @y", ""]
        );
        cells.clear();
        assert!(cells.record().is_empty(), "a row starts empty");
    }

    /// A table whose rows have one cell fewer than its header.
    struct ShortRows;

    impl ExportTable for ShortRows {
        type Row = ();

        fn csv_header(&self) -> Vec<&'static str> {
            vec!["a", "b"]
        }

        fn csv_row(&self, _row: &(), cells: &mut CsvRow) {
            cells.value("a only");
        }

        fn write_json(&self, _row: &(), out: &mut Vec<u8>) -> serde_json::Result<()> {
            serde_json::to_writer(out, "a only")
        }
    }

    #[test]
    fn a_row_that_does_not_fit_its_header_is_refused_not_written() {
        let mut encoder = Encoder::new(&ShortRows, ExportFormat::Csv, false).unwrap();
        let refused = encoder.page(&[()]).unwrap_err();
        assert_eq!(refused.status(), 500);
        let mut encoder = Encoder::new(&ShortRows, ExportFormat::Json, false).unwrap();
        encoder.page(&[(), ()]).unwrap();
        assert_eq!(encoder.finish().unwrap(), br#"["a only","a only"]"#);
    }

    #[test]
    fn formats_and_file_names() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse(Some("json")).unwrap(), ExportFormat::Json);
        assert!(ExportFormat::parse(Some("xlsx")).is_err());
        let day = Date::parse("d", "2025-04-30").unwrap();
        let file = ExportFile {
            stem: "training-assignments",
            format: ExportFormat::Csv,
            gzip: true,
        };
        assert_eq!(file.name(day), "training-assignments-2025-04-30.csv");
    }

    proptest::proptest! {
        /// Whatever the text, the cell never starts with a formula character.
        #[test]
        fn no_neutralised_cell_starts_a_formula(text in "\\PC{0,20}|[=+\\-@\t\r].{0,10}") {
            let safe = neutralise(text);
            proptest::prop_assert!(!safe.starts_with(['=', '+', '-', '@', '\t', '\r']));
        }
    }
}
