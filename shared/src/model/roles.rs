//! Roles: four system roles fixed in code, and custom roles per organization.
//!
//! An organization's custom roles live in one document item (at most
//! `MAX_CUSTOM_ROLES`), so authorization reads the member and every role definition in a
//! single BatchGetItem, and a role's holder count can guard its deletion atomically.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, RoleId};
use crate::permissions::{Permission, PermissionSet, all_permissions};
use crate::time::Timestamp;

/// Keeps the roles document far below DynamoDB's 400 KB item limit.
pub const MAX_CUSTOM_ROLES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemRole {
    Admin,
    Auditor,
    Developer,
    Viewer,
}

impl SystemRole {
    pub const ALL: [SystemRole; 4] = [
        SystemRole::Admin,
        SystemRole::Auditor,
        SystemRole::Developer,
        SystemRole::Viewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SystemRole::Admin => "admin",
            SystemRole::Auditor => "auditor",
            SystemRole::Developer => "developer",
            SystemRole::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Option<SystemRole> {
        SystemRole::ALL.into_iter().find(|role| role.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            SystemRole::Admin => "Full control of the organization.",
            SystemRole::Auditor => "Reads everything an audit needs, including the audit trail; changes nothing.",
            SystemRole::Developer => "Builds integrations: directory and LMS sync, API keys.",
            SystemRole::Viewer => "Read-only access to members, roles and compliance records.",
        }
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            SystemRole::Admin => all_permissions(),
            SystemRole::Auditor => [UsersRead, RolesRead, AuditRead, InvitationsRead, CipRead, TrainingRead]
                .into_iter()
                .collect(),
            SystemRole::Developer => [
                UsersRead,
                UsersWrite,
                RolesRead,
                ApiKeysManage,
                InvitationsRead,
                InvitationsWrite,
                CipRead,
                TrainingRead,
                TrainingWrite,
            ]
            .into_iter()
            .collect(),
            SystemRole::Viewer => [UsersRead, RolesRead, CipRead, TrainingRead].into_iter().collect(),
        }
    }
}

/// A role as a member holds it: a system role by name, or a custom role by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleRef {
    System(SystemRole),
    Custom(RoleId),
}

impl RoleRef {
    pub fn parse(field: &str, text: &str) -> ApiResult<RoleRef> {
        if let Some(role) = SystemRole::parse(text) {
            return Ok(RoleRef::System(role));
        }
        if text.starts_with(RoleId::PREFIX) {
            return RoleId::parse(field, text).map(RoleRef::Custom);
        }
        Err(ApiError::validation(
            field,
            format!("`{text}` is not a role: use admin, auditor, developer, viewer or a custom role id (role_…)"),
        ))
    }
}

impl fmt::Display for RoleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleRef::System(role) => f.write_str(role.name()),
            RoleRef::Custom(id) => f.write_str(id.as_str()),
        }
    }
}

impl utoipa::PartialSchema for RoleRef {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let system: Vec<&str> = SystemRole::ALL.iter().map(|role| role.name()).collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!(
                "^({}|{}[0-9a-hjkmnp-tv-z]{{26}})$",
                system.join("|"),
                RoleId::PREFIX
            )))
            .description(Some(format!(
                "A system role by name ({}) or a custom role by id (`role_…`).",
                system.join(", ")
            )))
            .examples(["viewer"])
            .into()
    }
}

impl utoipa::ToSchema for RoleRef {}

impl Serialize for RoleRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RoleRef::parse("roles", &text).map_err(|error| serde::de::Error::custom(error.to_string()))
    }
}

/// A custom role as stored in the organization's roles document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomRole {
    pub id: RoleId,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// While its deletion checks that nobody holds it: epoch milliseconds until which no
    /// member may take the role (`store::links`). Never shown by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_until: Option<i64>,
}

/// Every custom role of one organization, read and written as one item.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolesDocument {
    /// 0 when the document does not exist yet; guards every write (optimistic concurrency).
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub roles: BTreeMap<String, CustomRole>,
    /// The roles each group grants, by group id (only groups that grant any): read with
    /// the role definitions, so a member's effective roles cost authentication nothing more.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_grants: BTreeMap<String, Vec<RoleRef>>,
}

impl RolesDocument {
    pub fn get(&self, id: &RoleId) -> Option<&CustomRole> {
        self.roles.get(id.as_str())
    }

    /// The roles `group` grants; none for a group that grants none or no longer exists.
    pub fn granted_by(&self, group: &GroupId) -> &[RoleRef] {
        self.group_grants
            .get(group.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The groups that grant `role`.
    pub fn groups_granting(&self, role: &RoleRef) -> Vec<GroupId> {
        self.group_grants
            .iter()
            .filter(|(_, roles)| roles.contains(role))
            .filter_map(|(id, _)| GroupId::parse("groupId", id).ok())
            .collect()
    }

    /// Sets (or, with no roles, drops) what `group` grants.
    pub fn set_grants(&mut self, group: &GroupId, roles: &[RoleRef]) {
        if roles.is_empty() {
            self.group_grants.remove(group.as_str());
        } else {
            self.group_grants.insert(group.to_string(), roles.to_vec());
        }
    }

    /// The permissions a set of held roles grants; unknown custom roles grant nothing.
    pub fn permissions_of(&self, held: &[RoleRef]) -> PermissionSet {
        let mut permissions = PermissionSet::new();
        for role in held {
            match role {
                RoleRef::System(system) => permissions.extend(system.permissions()),
                RoleRef::Custom(id) => {
                    if let Some(custom) = self.get(id) {
                        permissions.extend(custom.permissions.iter().copied());
                    }
                }
            }
        }
        permissions
    }

    /// Checks every custom role exists; a missing one is a 400 naming it.
    pub fn check_exist(&self, held: &[RoleRef]) -> ApiResult<()> {
        for role in held {
            if let RoleRef::Custom(id) = role
                && self.get(id).is_none()
            {
                return Err(ApiError::validation(
                    "roles",
                    format!("role `{id}` does not exist in this organization"),
                ));
            }
        }
        Ok(())
    }

    pub fn name_taken(&self, name: &str, except: Option<&RoleId>) -> bool {
        let lowercase = name.to_lowercase();
        SystemRole::parse(&lowercase).is_some()
            || self
                .roles
                .values()
                .any(|role| role.name.to_lowercase() == lowercase && Some(&role.id) != except)
    }
}

/// A role as the commands answer it: a system role, or a custom role with its holders
/// (members, not deleted, who hold it).
#[derive(Debug, Clone)]
pub enum Role {
    System(SystemRole),
    Custom { role: CustomRole, holders: u64 },
}

/// A new custom role's values, parsed (`rest::roles::CreateRole::parse`); the name's
/// uniqueness is the command's to check.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRole {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

/// The fields a role update changes (absent: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleEdit {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub permissions: Option<Vec<Permission>>,
}

/// A role name as written: one line, at most `MAX_ROLE_NAME_LENGTH` characters.
pub fn role_name_text(name: &str) -> ApiResult<String> {
    crate::validation::one_line_text("name", name, MAX_ROLE_NAME_LENGTH)
}

pub fn role_description(description: Option<&str>) -> ApiResult<Option<String>> {
    crate::validation::optional_free_text("description", description, MAX_DESCRIPTION_LENGTH)
}

pub const MAX_ROLE_NAME_LENGTH: usize = 100;
pub const MAX_DESCRIPTION_LENGTH: usize = 1000;

/// Each permission once, in a stable order.
pub fn permission_list(permissions: Vec<Permission>) -> Vec<Permission> {
    permissions.into_iter().collect::<PermissionSet>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(id: &RoleId, permissions: Vec<Permission>) -> CustomRole {
        CustomRole {
            id: id.clone(),
            name: "reviewer".into(),
            description: None,
            permissions,
            closing_until: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    #[test]
    fn admin_holds_every_permission_and_viewer_only_reads() {
        assert_eq!(SystemRole::Admin.permissions(), all_permissions());
        assert!(
            SystemRole::Viewer
                .permissions()
                .iter()
                .all(|p| p.as_str().ends_with(":read"))
        );
        assert!(!SystemRole::Auditor.permissions().contains(&Permission::UsersWrite));
        assert!(SystemRole::Auditor.permissions().contains(&Permission::AuditRead));
    }

    #[test]
    fn permissions_of_held_roles_are_the_union_and_unknown_roles_grant_nothing() {
        let id = RoleId::new();
        let mut document = RolesDocument::default();
        document
            .roles
            .insert(id.to_string(), custom(&id, vec![Permission::TrainingWrite]));
        let held = vec![
            RoleRef::System(SystemRole::Viewer),
            RoleRef::Custom(id),
            RoleRef::Custom(RoleId::new()),
        ];
        let permissions = document.permissions_of(&held);
        assert!(permissions.contains(&Permission::TrainingWrite));
        assert!(permissions.contains(&Permission::UsersRead));
        assert!(!permissions.contains(&Permission::UsersWrite));
    }

    #[test]
    fn role_references_parse_system_names_and_custom_ids() {
        assert_eq!(
            RoleRef::parse("roles", "admin").unwrap(),
            RoleRef::System(SystemRole::Admin)
        );
        assert!(matches!(
            RoleRef::parse("roles", "superuser"),
            Err(ApiError::Validation { .. })
        ));
        assert!(matches!(
            RoleRef::parse("roles", "role_nope"),
            Err(ApiError::Validation { .. })
        ));
    }
}
