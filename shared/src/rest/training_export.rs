//! `GET /training-assignments/export`, the audit-ready export of training assignments
//! (seed 001): one row per assignment with the person, the module, the facility names, the
//! completion record and the waiver, as CSV or JSON (the list's objects with the names).
//! Rows come from the pages of `operations::training_export::ExportReader`; the file is
//! made and answered as every export is (`rest::exports`).

use serde::Serialize;

use crate::error::ApiResult;
use crate::model::principal::Principal;
use crate::model::training_assignments::AssignmentQuery;
use crate::operations::row_pages::RowPages;
use crate::operations::training_export::{ExportReader, ExportRow};
use crate::rest::exports::{self, CsvRow, Export, ExportFile, ExportSettings, ExportTable};
use crate::rest::training_assignments::TrainingAssignmentView;
use crate::store::Store;
use crate::time::Date;

/// The file's name begins with this.
pub const FILE_STEM: &str = "training-assignments";

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

/// The CSV columns, in order, for a caller who may see all of them (`ExportColumns`).
pub const CSV_HEADER: [&str; 27] = [
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
    "sourceStatementId",
];

/// The columns that name a person: shown only with `users:read`.
pub const PERSON_COLUMNS: [&str; 2] = ["userName", "userEmail"];

/// One CSV row (the columns of `columns.csv_header()`, in `CSV_HEADER`'s order), every
/// free-text cell neutralised.
pub fn csv_row(view: &TrainingAssignmentView, names: &ExportNames, columns: ExportColumns, cells: &mut CsvRow) {
    cells.value(&view.id).value(&view.user_id);
    if columns.people {
        cells
            .optional_free_text(names.user_name.as_ref())
            .optional_free_text(names.user_email.as_ref());
    }
    cells
        .value(&view.training_module_id)
        .free_text(&names.module_title)
        .optional_free_text(names.cip_standard.as_ref())
        .value(view.status.as_str())
        .value(view.due_date)
        .list(view.facilities.iter().map(|facility| &facility.id))
        .free_text_list(view.facilities.iter().map(|facility| &facility.name))
        .optional_free_text(view.notes.as_ref())
        .value(view.created_at)
        .value(view.updated_at)
        .optional(view.started_at)
        .optional(view.completed_at)
        .optional(view.completed_by.as_ref())
        .optional(view.self_reported)
        .optional(view.score)
        .optional_free_text(view.certificate_reference.as_ref())
        .optional(view.expires_at)
        .optional(view.waived_at)
        .optional(view.waived_by.as_ref())
        .optional_free_text(view.waiver_reason.as_ref())
        .optional(view.renewal_of.as_ref())
        .optional(view.renewed_by.as_ref())
        .optional(view.source_statement_id.as_ref());
}

pub struct ExportRequest {
    pub query: AssignmentQuery,
    pub file: ExportFile,
}

/// A row as the REST door shows it: the list's view, and the names it refers to.
pub type AssignmentRow = (TrainingAssignmentView, ExportNames);

impl ExportTable for ExportColumns {
    type Row = AssignmentRow;

    fn csv_header(&self) -> Vec<&'static str> {
        ExportColumns::csv_header(*self)
    }

    fn csv_row(&self, (view, names): &AssignmentRow, cells: &mut CsvRow) {
        csv_row(view, names, *self, cells);
    }

    fn write_json(&self, (view, names): &AssignmentRow, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &ExportObject {
                assignment: view,
                names,
            },
        )
    }
}

/// The reader's pages, as the REST door shows them.
struct AssignmentRows<'a> {
    reader: ExportReader<'a>,
}

impl RowPages for AssignmentRows<'_> {
    type Row = AssignmentRow;

    fn today(&self) -> Date {
        self.reader.today()
    }

    fn is_done(&self) -> bool {
        self.reader.is_done()
    }

    async fn next_page(&mut self) -> ApiResult<Option<Vec<AssignmentRow>>> {
        let today = self.reader.today();
        let page = self.reader.next_page().await?;
        Ok(page.map(|rows| rows.into_iter().map(|row| export_row(row, today)).collect()))
    }
}

pub async fn export_assignments(
    store: &Store,
    principal: &Principal,
    request: &ExportRequest,
    settings: &ExportSettings<'_>,
) -> ApiResult<Export> {
    let reader = ExportReader::open(store, principal, request.query.clone())?;
    let columns = ExportColumns {
        people: reader.shows_people(),
    };
    exports::export(
        &columns,
        AssignmentRows { reader },
        principal.org(),
        request.file,
        settings,
    )
    .await
}

/// A row as the REST door shows it: the list's view, and the names it refers to.
fn export_row(row: ExportRow, today: Date) -> AssignmentRow {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;
    use crate::ids::{TrainingModuleId, UserId};
    use crate::model::training_assignments::{NewAssignment, new_assignment};
    use crate::rest::exports::{Encoder, ExportFormat};
    use crate::time::Timestamp;

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
            let columns = ExportColumns { people: true };
            let mut encoder = Encoder::new(&columns, ExportFormat::Csv, gzip).unwrap();
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
}
