//! The audit-ready export of training assignments (seed 001): one row per assignment with
//! the person, the module, the facility names, the completion record and the waiver, as
//! RFC 4180 CSV that a spreadsheet opens safely, or as JSON.

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::model::training_assignments::TrainingAssignmentView;
use crate::time::Date;

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

/// The person and the module an assignment names, as the export shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportNames {
    pub user_name: String,
    pub user_email: String,
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

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 25] = [
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
    "score",
    "certificateReference",
    "expiresAt",
    "waivedAt",
    "waivedBy",
    "waiverReason",
    "renewalOf",
    "renewedBy",
];

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

/// One CSV row (`CSV_HEADER`'s columns), every free-text cell neutralised.
pub fn csv_row(view: &TrainingAssignmentView, names: &ExportNames) -> [String; 25] {
    let facility_ids: Vec<&str> = view.facilities.iter().map(|f| f.id.as_str()).collect();
    let facility_names: Vec<&str> = view.facilities.iter().map(|f| f.name.as_str()).collect();
    [
        view.id.to_string(),
        view.user_id.to_string(),
        neutralise(names.user_name.clone()),
        neutralise(names.user_email.clone()),
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
        text(view.score),
        neutralise(text(view.certificate_reference.as_ref())),
        text(view.expires_at),
        text(view.waived_at),
        text(view.waived_by.as_ref()),
        neutralise(text(view.waiver_reason.as_ref())),
        text(view.renewal_of.as_ref()),
        text(view.renewed_by.as_ref()),
    ]
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
    fn formats_and_file_names() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse(Some("json")).unwrap(), ExportFormat::Json);
        assert!(ExportFormat::parse(Some("xlsx")).is_err());
        let day = Date::parse("d", "2025-04-30").unwrap();
        assert_eq!(ExportFormat::Csv.file_name(day), "training-assignments-2025-04-30.csv");
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
