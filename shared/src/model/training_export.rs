//! The audit-ready export of training assignments (seed 001): one row per assignment with
//! the person, the module, the facility names, the completion record and the waiver, as
//! RFC 4180 CSV that a spreadsheet opens safely, or as JSON.

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::model::principal::Principal;
use crate::model::training_assignments::TrainingAssignmentView;
use crate::permissions::Permission;
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

/// Which columns an export carries. `training:read` lets a caller read assignments, and
/// an assignment names its person by id; the person's name and email are what
/// `GET /users` shows, so they need `users:read` as well. Without it (an LMS integration's
/// key, typically) the export carries ids only: the name and email columns are left out of
/// the CSV header and the JSON objects, not left blank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportColumns {
    pub people: bool,
}

impl ExportColumns {
    pub fn for_caller(principal: &Principal) -> ExportColumns {
        ExportColumns {
            people: principal.has(Permission::UsersRead),
        }
    }

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

    proptest::proptest! {
        /// Whatever the text, the cell never starts with a formula character.
        #[test]
        fn no_neutralised_cell_starts_a_formula(text in "\\PC{0,20}|[=+\\-@\t\r].{0,10}") {
            let safe = neutralise(text);
            proptest::prop_assert!(!safe.starts_with(['=', '+', '-', '@', '\t', '\r']));
        }
    }
}
