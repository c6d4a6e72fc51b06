//! `GET /users/export` (seed 003's "export users"): the members the list's filters select,
//! one row each, with their roles by id and by name, as CSV or JSON (the list's objects
//! with `roleNames`). Rows come from the pages of `operations::users::MemberReader`; the
//! file is made and answered as every export is (`rest::exports`).

use serde::Serialize;

use crate::error::ApiResult;
use crate::model::principal::Principal;
use crate::model::roles::{RoleRef, RolesDocument};
use crate::model::users::{Member, UserFilter};
use crate::operations::users::MemberReader;
use crate::rest::exports::{self, CsvRow, Export, ExportFile, ExportSettings, ExportTable};
use crate::rest::users::UserView;
use crate::store::Store;

/// The file's name begins with this.
pub const FILE_STEM: &str = "users";

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 12] = [
    "id",
    "email",
    "displayName",
    "title",
    "externalId",
    "status",
    "roles",
    "roleNames",
    "createdAt",
    "updatedAt",
    "deletedAt",
    // Last, so the columns before it keep their places.
    "facilityIds",
];

/// A JSON export row: the list endpoint's object, and its roles' names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserExportObject {
    #[serde(flatten)]
    pub user: UserView,
    /// The names of `roles`, in the same order (a custom role's name as it is now).
    pub role_names: Vec<String>,
}

/// The members' rows, with the organization's role names as the caller's request read
/// them (the roles document comes with the principal: no read of its own).
pub struct UsersTable<'a> {
    pub roles: &'a RolesDocument,
}

impl UsersTable<'_> {
    /// A role's name; a custom role deleted since (its id kept on the member) shows its id.
    fn role_name(&self, role: &RoleRef) -> String {
        match role {
            RoleRef::System(system) => system.name().to_string(),
            RoleRef::Custom(id) => self
                .roles
                .get(id)
                .map_or_else(|| id.to_string(), |custom| custom.name.clone()),
        }
    }

    fn role_names(&self, member: &Member) -> Vec<String> {
        member.roles.iter().map(|role| self.role_name(role)).collect()
    }
}

impl ExportTable for UsersTable<'_> {
    type Row = Member;

    fn csv_header(&self) -> Vec<&'static str> {
        CSV_HEADER.to_vec()
    }

    fn csv_row(&self, member: &Member, cells: &mut CsvRow) {
        cells
            .value(&member.user_id)
            .free_text(&member.email)
            .free_text(&member.display_name)
            .optional_free_text(member.title.as_ref())
            .optional_free_text(member.external_id.as_ref())
            .value(member.status.as_str())
            .list(&member.roles)
            .free_text_list(member.roles.iter().map(|role| self.role_name(role)))
            .value(member.created_at)
            .value(member.updated_at)
            .optional(member.deleted_at)
            .list(&member.facility_ids);
    }

    fn write_json(&self, member: &Member, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &UserExportObject {
                user: UserView::of(member, self.roles),
                role_names: self.role_names(member),
            },
        )
    }
}

pub async fn export_users(
    store: &Store,
    principal: &Principal,
    filter: UserFilter,
    file: ExportFile,
    settings: &ExportSettings<'_>,
) -> ApiResult<Export> {
    let reader = MemberReader::open(store, principal, filter)?;
    let table = UsersTable {
        roles: &principal.roles,
    };
    exports::export(&table, reader, principal.org(), file, settings).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrgId, RoleId, UserId};
    use crate::model::roles::{CustomRole, SystemRole};
    use crate::model::users::MemberStatus;
    use crate::rest::exports::{Encoder, ExportFormat};
    use crate::time::Timestamp;
    use crate::validation::{DisplayName, Email};

    fn member(roles: Vec<RoleRef>) -> Member {
        let now = Timestamp::now();
        Member {
            organization_id: OrgId::new(),
            organization_name: "Utility".into(),
            user_id: UserId::new(),
            email: Email::parse("email", "ops@utility.example").unwrap(),
            display_name: DisplayName::parse("displayName", "=Ops, \"Night\"").unwrap(),
            title: Some("Line one\nline two".into()),
            external_id: None,
            roles,
            status: MemberStatus::Active,
            facility_ids: Vec::new(),
            group_ids: Vec::new(),
            profile: Default::default(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
        }
    }

    #[test]
    fn a_row_reads_back_whole_with_role_names_and_no_formula() {
        let auditors = RoleId::new();
        let gone = RoleId::new();
        let mut roles = RolesDocument::default();
        roles.roles.insert(
            auditors.to_string(),
            CustomRole {
                id: auditors.clone(),
                name: "Auditors".into(),
                description: None,
                permissions: vec![],
                created_at: Timestamp::now(),
                updated_at: Timestamp::now(),
                closing_until: None,
            },
        );
        let table = UsersTable { roles: &roles };
        let row = member(vec![
            RoleRef::System(SystemRole::Admin),
            RoleRef::Custom(auditors.clone()),
            RoleRef::Custom(gone.clone()),
        ]);
        let mut encoder = Encoder::new(&table, ExportFormat::Csv, false).unwrap();
        encoder.page(std::slice::from_ref(&row)).unwrap();
        let bytes = encoder.finish().unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        assert_eq!(reader.headers().unwrap(), CSV_HEADER.to_vec());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][2], "'=Ops, \"Night\"");
        assert_eq!(&records[0][3], "Line one\nline two");
        assert_eq!(&records[0][6], format!("admin; {auditors}; {gone}"));
        assert_eq!(&records[0][7], format!("admin; Auditors; {gone}"));

        let mut json = Vec::new();
        table.write_json(&row, &mut json).unwrap();
        let object: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(object["displayName"], "=Ops, \"Night\"", "JSON keeps the text as it is");
        assert_eq!(
            object["roleNames"],
            serde_json::json!(["admin", "Auditors", gone.to_string()])
        );
    }
}
