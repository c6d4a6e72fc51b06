//! `GET /training-assignments/export`: every assignment the list's filters select, with
//! names, as CSV or JSON, gzip when the client takes it. Rows stream from DynamoDB pages
//! into the encoder, so memory holds one page and the encoded bytes, never the whole set.
//!
//! A Lambda response behind API Gateway is capped at 6 MB (a binary body counts in
//! base64). Up to `inline_limit_bytes` of encoded output the file is the response; past it,
//! the bytes so far and the rest go to S3 as a multipart upload, and the caller is sent a
//! presigned link (`303 See Other`), which any HTTP client follows.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{ApiError, ApiResult};
use crate::export_files::{ExportBucket, FileHeaders, PART_BYTES, Upload};
use crate::ids::{FacilityId, OrgId, TrainingModuleId, UserId};
use crate::model::principal::Principal;
use crate::model::training_assignments::{AssignmentQuery, TrainingAssignment, TrainingAssignmentView};
use crate::model::training_export::{ExportColumns, ExportFormat, ExportNames, ExportObject, csv_row};
use crate::operations::training_assignments::scope_of;
use crate::permissions::Permission;
use crate::store::{self, Store};
use crate::time::Date;

/// Rows encoded per page: about what one DynamoDB Query returns (1 MB) at ~1 KB a row.
pub const ROWS_PER_READ: usize = 1000;
/// Encoded bytes a response may carry: 6 MB less base64's third and room for headers.
pub const DEFAULT_INLINE_LIMIT_BYTES: usize = 4_000_000;
/// API Gateway gives up on a request after 30 s; stop in time to answer with an error.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(25);

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

/// Names already looked up, across pages: an export names the same people, modules and
/// facilities again and again. People are read only for an export that shows them.
#[derive(Default)]
struct Names {
    columns: ExportColumns,
    people: HashMap<UserId, (String, String)>,
    modules: HashMap<TrainingModuleId, (String, Option<String>)>,
    facilities: HashMap<FacilityId, String>,
}

impl Names {
    async fn load(&mut self, store: &Store, org: &OrgId, rows: &[TrainingAssignment]) -> ApiResult<()> {
        let mut people: Vec<UserId> = Vec::new();
        let mut modules: Vec<TrainingModuleId> = Vec::new();
        let mut facilities: Vec<FacilityId> = Vec::new();
        for row in rows {
            if self.columns.people && !self.people.contains_key(&row.user_id) && !people.contains(&row.user_id) {
                people.push(row.user_id.clone());
            }
            if !self.modules.contains_key(&row.training_module_id) && !modules.contains(&row.training_module_id) {
                modules.push(row.training_module_id.clone());
            }
            for facility in &row.facility_ids {
                if !self.facilities.contains_key(facility) && !facilities.contains(facility) {
                    facilities.push(facility.clone());
                }
            }
        }
        if !people.is_empty() {
            for member in store::members::get_many(store, org, &people).await? {
                self.people.insert(
                    member.user_id,
                    (member.display_name.to_string(), member.email.to_string()),
                );
            }
        }
        if !modules.is_empty() {
            for module in store::training_modules::get_many(store, org, &modules).await? {
                self.modules.insert(module.id, (module.title, module.cip_standard));
            }
        }
        if !facilities.is_empty() {
            for facility in store::facilities::get_many(store, org, &facilities).await? {
                self.facilities.insert(facility.id, facility.name);
            }
        }
        Ok(())
    }

    fn of(&self, row: &TrainingAssignment) -> ExportNames {
        let (user_name, user_email) = if self.columns.people {
            let (name, email) = self.people.get(&row.user_id).cloned().unwrap_or_default();
            (Some(name), Some(email))
        } else {
            (None, None)
        };
        let (module_title, cip_standard) = self.modules.get(&row.training_module_id).cloned().unwrap_or_default();
        ExportNames {
            user_name,
            user_email,
            module_title,
            cip_standard,
        }
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
    principal.require(Permission::TrainingRead)?;
    let today = store.clock().today();
    let file_name = request.format.file_name(today);
    let mut upload = None;
    let result = Box::pin(encode(store, principal, request, today, settings, &mut upload)).await;
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

async fn encode<'a>(
    store: &Store,
    principal: &Principal,
    request: &ExportRequest,
    today: Date,
    settings: &ExportSettings<'a>,
    upload: &mut Option<Spill<'a>>,
) -> ApiResult<Encoded> {
    let started = Instant::now();
    let org = principal.org();
    let columns = ExportColumns::for_caller(principal);
    let mut encoder = Encoder::new(request.format, columns, request.gzip)?;
    let mut names = Names {
        columns,
        ..Names::default()
    };
    let mut rows = 0;
    let mut after = None;
    loop {
        if started.elapsed() > settings.time_budget {
            return Err(ApiError::Unavailable {
                message: format!(
                    "the export did not finish within {} s; narrow it with filters (for example completedAfter and completedBefore) and export in parts",
                    settings.time_budget.as_secs()
                ),
            });
        }
        let page =
            store::training_assignments::list(store, org, &request.query, today, ROWS_PER_READ, after.as_ref()).await?;
        names.load(store, org, &page.items).await?;
        let encoded: Vec<(TrainingAssignmentView, ExportNames)> = page
            .items
            .iter()
            .map(|row| {
                let scope = scope_of(row, &names.facilities);
                (TrainingAssignmentView::of(row, scope, today), names.of(row))
            })
            .collect();
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
        match page.next {
            Some(next) => after = Some(next),
            None => break,
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
    use crate::ids::UserId;
    use crate::model::training_assignments::{NewAssignment, new_assignment};
    use crate::time::Timestamp;

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
            assert_eq!(
                reader.headers().unwrap().len(),
                crate::model::training_export::CSV_HEADER.len()
            );
            let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(records.len(), 1);
            assert_eq!(&records[0][2], "Zoë, \"Z\"\nO'Neil");
            assert_eq!(&records[0][11], "line one, \"quoted\"\r\nline two");
        }
    }
}
