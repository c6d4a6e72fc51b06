//! `GET /training-assignments/export`, the audit-ready export of training assignments
//! (seed 001): one row per assignment with the person, the module, the facility names, the
//! completion record and the waiver, as RFC 4180 CSV that a spreadsheet opens safely, or as
//! JSON (the list's objects with the names), gzip when the client takes it. Rows stream
//! from the pages of `operations::training_export::ExportReader` into the encoder, so
//! memory holds one page and the encoded bytes, never the whole set.
//!
//! A Lambda response behind API Gateway is capped at 6 MB (a binary body counts in
//! base64). Up to `inline_limit_bytes` of encoded output the file is the response; past it,
//! the bytes so far and the rest go to S3 as a multipart upload, and the caller is sent a
//! presigned link (`303 See Other`), which any HTTP client follows.

use std::io::Write;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::export_files::{ExportBucket, FileHeaders, PART_BYTES, Upload};
use crate::ids::OrgId;
use crate::model::principal::Principal;
use crate::model::training_assignments::AssignmentQuery;
use crate::operations::training_export::{ExportReader, ExportRow};
use crate::rest::training_assignments::TrainingAssignmentView;
use crate::store::Store;
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

    /// `training-assignments-2025-04-30.csv`: the day the export was made.
    pub fn file_name(self, day: Date) -> String {
        format!("training-assignments-{day}.{}", self.as_str())
    }
}

/// Which columns an export carries. Without the person's name and email
/// (`ExportReader::shows_people`: the caller lacks `users:read`), the export carries ids
/// only: the name and email columns are left out of the CSV header and the JSON objects,
/// not left blank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportColumns {
    pub people: bool,
}

impl ExportColumns {
    fn shows(self, column: &str) -> bool {
        self.people || !PERSON_COLUMNS.contains(&column)
    }

    /// The CSV header row: `CSV_HEADER`, less what the caller may not see.
    pub fn csv_header(self) -> Vec<&'static str> {
        CSV_HEADER.into_iter().filter(|column| self.shows(column)).collect()
    }
}

/// The person and the module an assignment names, as the export shows them. The person's
/// name and email appear only for a caller holding `users:read`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportNames {
    /// Only for a caller holding `users:read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub user_name: Option<String>,
    /// Only for a caller holding `users:read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub user_email: Option<String>,
    pub module_title: String,
    pub cip_standard: Option<String>,
}

/// A JSON export row: the list endpoint's object, and the names it refers to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportObject<'a> {
    #[serde(flatten)]
    pub assignment: &'a TrainingAssignmentView,
    #[serde(flatten)]
    pub names: &'a ExportNames,
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

/// The CSV columns, in order, for a caller who may see all of them (`ExportColumns`).
pub const CSV_HEADER: [&str; 26] = [
    "id",
    "userId",
    "userName",
    "userEmail",
    "trainingModuleId",
    "moduleTitle",
    "cipStandard",
    "status",
    "dueDate",
    "facilityIds",
    "facilityNames",
    "notes",
    "createdAt",
    "updatedAt",
    "startedAt",
    "completedAt",
    "completedBy",
    "selfReported",
    "score",
    "certificateReference",
    "expiresAt",
    "waivedAt",
    "waivedBy",
    "waiverReason",
    "renewalOf",
    "renewedBy",
];

/// The columns that name a person: shown only with `users:read`.
pub const PERSON_COLUMNS: [&str; 2] = ["userName", "userEmail"];

/// Several values in one cell (facility ids and names), in scope order.
const LIST_SEPARATOR: &str = "; ";

/// OWASP CSV injection: a spreadsheet runs a cell that starts with one of these as a
/// formula, so such a cell is prefixed with a quote and shows as the text it is.
pub fn neutralise(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

fn text(value: Option<impl ToString>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// One CSV row (the columns of `columns.csv_header()`), every free-text cell neutralised.
pub fn csv_row(view: &TrainingAssignmentView, names: &ExportNames, columns: ExportColumns) -> Vec<String> {
    let facility_ids: Vec<&str> = view.facilities.iter().map(|f| f.id.as_str()).collect();
    let facility_names: Vec<&str> = view.facilities.iter().map(|f| f.name.as_str()).collect();
    let cells: [String; 26] = [
        view.id.to_string(),
        view.user_id.to_string(),
        neutralise(text(names.user_name.as_ref())),
        neutralise(text(names.user_email.as_ref())),
        view.training_module_id.to_string(),
        neutralise(names.module_title.clone()),
        neutralise(text(names.cip_standard.as_ref())),
        view.status.as_str().to_string(),
        view.due_date.to_string(),
        facility_ids.join(LIST_SEPARATOR),
        neutralise(facility_names.join(LIST_SEPARATOR)),
        neutralise(text(view.notes.as_ref())),
        view.created_at.to_string(),
        view.updated_at.to_string(),
        text(view.started_at),
        text(view.completed_at),
        text(view.completed_by.as_ref()),
        text(view.self_reported),
        text(view.score),
        neutralise(text(view.certificate_reference.as_ref())),
        text(view.expires_at),
        text(view.waived_at),
        text(view.waived_by.as_ref()),
        neutralise(text(view.waiver_reason.as_ref())),
        text(view.renewal_of.as_ref()),
        text(view.renewed_by.as_ref()),
    ];
    CSV_HEADER
        .into_iter()
        .zip(cells)
        .filter(|(column, _)| columns.shows(column))
        .map(|(_, cell)| cell)
        .collect()
}

pub struct ExportRequest {
    pub query: AssignmentQuery,
    pub format: ExportFormat,
    /// The client sent `Accept-Encoding: gzip`.
    pub gzip: bool,
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

/// Where encoded bytes collect until they are answered or sent to S3.
enum Sink {
    Plain(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
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

/// The format's framing around the rows, written into the sink page by page.
struct Encoder {
    format: ExportFormat,
    columns: ExportColumns,
    sink: Sink,
    rows: usize,
}

fn encoding_failed(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("encoding the export failed: {error}"))
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

impl Encoder {
    fn new(format: ExportFormat, columns: ExportColumns, gzip: bool) -> ApiResult<Encoder> {
        let mut sink = if gzip {
            Sink::Gzip(GzEncoder::new(Vec::new(), Compression::default()))
        } else {
            Sink::Plain(Vec::new())
        };
        let opening = match format {
            ExportFormat::Csv => {
                let mut header = csv_writer();
                header.write_record(columns.csv_header()).map_err(encoding_failed)?;
                header.into_inner().map_err(|error| encoding_failed(error.error()))?
            }
            ExportFormat::Json => b"[".to_vec(),
        };
        sink.write_all(&opening).map_err(encoding_failed)?;
        Ok(Encoder {
            format,
            columns,
            sink,
            rows: 0,
        })
    }

    /// Encodes one page of rows (the `csv` crate quotes per RFC 4180).
    fn page(&mut self, rows: &[(TrainingAssignmentView, ExportNames)]) -> ApiResult<()> {
        let bytes = match self.format {
            ExportFormat::Csv => {
                let mut writer = csv_writer();
                for (view, names) in rows {
                    writer
                        .write_record(csv_row(view, names, self.columns))
                        .map_err(encoding_failed)?;
                }
                writer.into_inner().map_err(|error| encoding_failed(error.error()))?
            }
            ExportFormat::Json => {
                let mut bytes = Vec::new();
                for (index, (view, names)) in rows.iter().enumerate() {
                    if self.rows + index > 0 {
                        bytes.push(b',');
                    }
                    serde_json::to_writer(
                        &mut bytes,
                        &ExportObject {
                            assignment: view,
                            names,
                        },
                    )
                    .map_err(encoding_failed)?;
                }
                bytes
            }
        };
        self.rows += rows.len();
        self.sink.write_all(&bytes).map_err(encoding_failed)
    }

    /// The encoded bytes collected so far (gzip holds up to a block more).
    fn buffer(&mut self) -> &mut Vec<u8> {
        self.sink.buffer()
    }

    fn finish(mut self) -> ApiResult<Vec<u8>> {
        if self.format == ExportFormat::Json {
            self.sink.write_all(b"]").map_err(encoding_failed)?;
        }
        self.sink.finish().map_err(encoding_failed)
    }
}

pub struct ExportSettings<'a> {
    pub bucket: Option<&'a ExportBucket>,
    pub inline_limit_bytes: usize,
    /// An export still running after this answers 503 (the benchmark lifts it: the
    /// emulator's Query is far slower than DynamoDB's).
    pub time_budget: Duration,
}

pub async fn export_assignments(
    store: &Store,
    principal: &Principal,
    request: &ExportRequest,
    settings: &ExportSettings<'_>,
) -> ApiResult<Export> {
    let reader = ExportReader::open(store, principal, request.query.clone())?;
    let today = reader.today();
    let file_name = request.format.file_name(today);
    let mut upload = None;
    let result = Box::pin(encode(reader, principal.org(), request, settings, &mut upload)).await;
    let (body, rows) = match (result, upload.take()) {
        (Ok(Encoded { body, rows }), None) if body.len() <= settings.inline_limit_bytes => {
            return Ok(Export::Inline { body, rows, file_name });
        }
        // gzip holds bytes back until the end: the file outgrew the response only then.
        (Ok(Encoded { body, rows }), None) => {
            upload = Some(start_spill(principal.org(), request, today, settings).await?);
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
    request: &ExportRequest,
    today: Date,
    settings: &ExportSettings<'a>,
) -> ApiResult<Spill<'a>> {
    let bucket = settings
        .bucket
        .ok_or_else(|| ApiError::internal("the export needs the exports bucket, and EXPORT_BUCKET is not set"))?;
    let file_name = request.format.file_name(today);
    let key = format!(
        "exports/{org}/{today}/{}-{file_name}",
        crate::ids::new_ulid().to_string().to_lowercase()
    );
    let headers = FileHeaders {
        content_type: request.format.content_type(),
        content_encoding: request.gzip.then_some("gzip"),
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

/// A row as the REST door shows it: the list's view, and the names it refers to.
fn export_row(row: ExportRow, today: Date) -> (TrainingAssignmentView, ExportNames) {
    let (user_name, user_email) = match row.person {
        Some((name, email)) => (Some(name), Some(email)),
        None => (None, None),
    };
    let names = ExportNames {
        user_name,
        user_email,
        module_title: row.module_title,
        cip_standard: row.cip_standard,
    };
    (
        TrainingAssignmentView::of(&row.assignment, row.facilities, today),
        names,
    )
}

async fn encode<'a>(
    mut reader: ExportReader<'_>,
    org: &OrgId,
    request: &ExportRequest,
    settings: &ExportSettings<'a>,
    upload: &mut Option<Spill<'a>>,
) -> ApiResult<Encoded> {
    let started = Instant::now();
    let today = reader.today();
    let columns = ExportColumns {
        people: reader.shows_people(),
    };
    let mut encoder = Encoder::new(request.format, columns, request.gzip)?;
    let mut rows = 0;
    loop {
        if !reader.is_done() && started.elapsed() > settings.time_budget {
            return Err(ApiError::unavailable(
                format!(
                    "the export did not finish within {} s; narrow it with filters (for example completedAfter and completedBefore) and export in parts",
                    settings.time_budget.as_secs()
                ),
                "DynamoDB",
                format!("the export read {rows} rows in its time budget"),
            ));
        }
        let Some(page) = reader.next_page().await? else {
            break;
        };
        let encoded: Vec<(TrainingAssignmentView, ExportNames)> =
            page.into_iter().map(|row| export_row(row, today)).collect();
        encoder.page(&encoded)?;
        rows += encoded.len();
        if upload.is_none() && encoder.buffer().len() > settings.inline_limit_bytes {
            *upload = Some(start_spill(org, request, today, settings).await?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TrainingModuleId, UserId};
    use crate::model::training_assignments::{NewAssignment, new_assignment};
    use crate::time::Timestamp;

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
    fn formats_and_file_names() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse(Some("json")).unwrap(), ExportFormat::Json);
        assert!(ExportFormat::parse(Some("xlsx")).is_err());
        let day = Date::parse("d", "2025-04-30").unwrap();
        assert_eq!(ExportFormat::Csv.file_name(day), "training-assignments-2025-04-30.csv");
    }

    #[test]
    fn without_users_read_the_person_columns_are_left_out_not_blank() {
        let ids_only = ExportColumns { people: false };
        let header = ids_only.csv_header();
        assert_eq!(header.len(), CSV_HEADER.len() - PERSON_COLUMNS.len());
        assert!(header.contains(&"userId"));
        assert!(!header.contains(&"userName") && !header.contains(&"userEmail"));
        assert_eq!(ExportColumns { people: true }.csv_header(), CSV_HEADER.to_vec());
        let names = ExportNames {
            module_title: "CIP-004".into(),
            ..ExportNames::default()
        };
        let object = serde_json::to_value(&names).unwrap();
        assert!(object.get("userName").is_none() && object.get("userEmail").is_none());
        assert_eq!(object["moduleTitle"], "CIP-004");
    }

    /// The API refuses control characters in text, but the encoder must not depend on it:
    /// a cell with a line break, quotes and commas reads back as one cell.
    #[test]
    fn cells_with_line_breaks_quotes_and_commas_read_back_whole_plain_or_gzip() {
        let mut assignment = new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: UserId::new(),
                training_module_id: TrainingModuleId::new(),
                due_date: Date::parse("d", "2025-04-30").unwrap(),
                notes: None,
                facility_ids: vec![],
            },
            &UserId::new(),
            Timestamp::now(),
        );
        assignment.notes = Some("line one, \"quoted\"\r\nline two".into());
        let names = ExportNames {
            user_name: Some("Zoë, \"Z\"\nO'Neil".into()),
            ..ExportNames::default()
        };
        for gzip in [false, true] {
            let mut encoder = Encoder::new(ExportFormat::Csv, ExportColumns { people: true }, gzip).unwrap();
            let view = TrainingAssignmentView::of(&assignment, vec![], Timestamp::now().date());
            encoder.page(&[(view, names.clone())]).unwrap();
            let bytes = encoder.finish().unwrap();
            let text = if gzip {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
                out
            } else {
                bytes
            };
            let mut reader = csv::Reader::from_reader(&text[..]);
            assert_eq!(reader.headers().unwrap().len(), CSV_HEADER.len());
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(records.len(), 1);
            assert_eq!(&records[0][2], "Zoë, \"Z\"\nO'Neil");
            assert_eq!(&records[0][11], "line one, \"quoted\"\r\nline two");
        }
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
