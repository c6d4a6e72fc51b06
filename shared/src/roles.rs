//! Roles: four system roles fixed in code, and custom roles per organization.
//!
//! An organization's custom roles live in one document item (at most
//! `MAX_CUSTOM_ROLES`), so authorization reads the member and every role definition in a
//! single BatchGetItem, and a role's holder count can guard its deletion atomically.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use serde_json::json;

use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ids::RoleId;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet, all_permissions};
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::validation;

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
    /// Members (not deleted) who hold this role; a held role cannot be deleted.
    pub member_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
}

impl RolesDocument {
    pub fn get(&self, id: &RoleId) -> Option<&CustomRole> {
        self.roles.get(id.as_str())
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

    /// Moves holder counts when a member's roles change from `before` to `after`.
    pub fn move_holders(&mut self, before: &[RoleRef], after: &[RoleRef]) {
        for role in before.iter().filter(|role| !after.contains(role)) {
            if let RoleRef::Custom(id) = role
                && let Some(custom) = self.roles.get_mut(id.as_str())
            {
                custom.member_count = custom.member_count.saturating_sub(1);
            }
        }
        for role in after.iter().filter(|role| !before.contains(role)) {
            if let RoleRef::Custom(id) = role
                && let Some(custom) = self.roles.get_mut(id.as_str())
            {
                custom.member_count += 1;
            }
        }
    }

    pub fn holds_custom_role(held: &[RoleRef]) -> bool {
        held.iter().any(|role| matches!(role, RoleRef::Custom(_)))
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

/// A role as the API shows it: system roles and custom roles in one shape.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    pub system: bool,
    pub member_count: Option<u64>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl RoleView {
    pub fn system(role: SystemRole) -> Self {
        RoleView {
            id: role.name().to_string(),
            name: role.name().to_string(),
            description: Some(role.description().to_string()),
            permissions: role.permissions().into_iter().collect(),
            system: true,
            member_count: None,
            created_at: None,
            updated_at: None,
        }
    }

    pub fn custom(role: &CustomRole) -> Self {
        RoleView {
            id: role.id.to_string(),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.clone(),
            system: false,
            member_count: Some(role.member_count),
            created_at: Some(role.created_at),
            updated_at: Some(role.updated_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRole {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    pub description: Option<Option<String>>,
    pub permissions: Option<Vec<Permission>>,
}

const MAX_ROLE_NAME_LENGTH: usize = 100;
const MAX_DESCRIPTION_LENGTH: usize = 1000;

fn role_name(caller_roles: &RolesDocument, name: &str, except: Option<&RoleId>) -> ApiResult<String> {
    let name = validation::required_text("name", name, MAX_ROLE_NAME_LENGTH)?;
    if caller_roles.name_taken(&name, except) {
        return Err(ApiError::conflict(format!("a role named `{name}` already exists")));
    }
    Ok(name)
}

fn permission_list(permissions: Vec<Permission>) -> Vec<Permission> {
    permissions.into_iter().collect::<PermissionSet>().into_iter().collect()
}

/// System roles first (fixed order), then custom roles by id; the cursor holds the last id.
pub fn list_roles(caller: &Caller, page: &PageRequest) -> ApiResult<ListPage<RoleView>> {
    caller.require(Permission::RolesRead)?;
    let all: Vec<RoleView> = SystemRole::ALL
        .into_iter()
        .map(RoleView::system)
        .chain(caller.roles.roles.values().map(RoleView::custom))
        .collect();
    let start = match page.after.as_ref().and_then(|position| position.get("id")) {
        Some(last) => all
            .iter()
            .position(|role| &role.id == last)
            .map(|index| index + 1)
            .unwrap_or(all.len()),
        None => 0,
    };
    let data: Vec<RoleView> = all.into_iter().skip(start).take(page.limit + 1).collect();
    let mut data = data;
    let next = if data.len() > page.limit {
        data.truncate(page.limit);
        data.last().map(|role| [("id".to_string(), role.id.clone())].into())
    } else {
        None
    };
    Ok(ListPage {
        data,
        next_cursor: page.next_cursor(next),
    })
}

pub fn get_role(caller: &Caller, id: &str) -> ApiResult<RoleView> {
    caller.require(Permission::RolesRead)?;
    match RoleRef::parse("id", id)? {
        RoleRef::System(role) => Ok(RoleView::system(role)),
        RoleRef::Custom(id) => caller
            .roles
            .get(&id)
            .map(RoleView::custom)
            .ok_or(ApiError::NotFound { resource: "role" }),
    }
}

fn custom_role_for_change<'a>(caller: &'a Caller, id: &str) -> ApiResult<&'a CustomRole> {
    match RoleRef::parse("id", id)? {
        RoleRef::System(role) => Err(ApiError::forbidden_action(format!(
            "`{}` is a system role; its permissions are fixed",
            role.name()
        ))),
        RoleRef::Custom(id) => {
            let role = caller.roles.get(&id).ok_or(ApiError::NotFound { resource: "role" })?;
            let held: PermissionSet = role.permissions.iter().copied().collect();
            caller.require_all(&held, "changing this role")?;
            Ok(role)
        }
    }
}

/// Saves the roles document as the caller read it at authentication, with the audit event.
async fn commit_roles_change(
    store: &Store,
    caller: &Caller,
    document: &RolesDocument,
    action: &str,
    role: &RoleId,
    summary: serde_json::Value,
) -> ApiResult<()> {
    let mut transaction = Transaction::new();
    store::roles::put_document(&mut transaction, caller.org(), document)?;
    audit::record(&mut transaction, &caller.actor, action, "role", role.as_str(), summary)?;
    transaction.commit(store).await
}

pub async fn create_role(store: &Store, caller: &Caller, input: CreateRole) -> ApiResult<RoleView> {
    caller.require(Permission::RolesWrite)?;
    let name = role_name(&caller.roles, &input.name, None)?;
    let description = validation::optional_text("description", input.description.as_deref(), MAX_DESCRIPTION_LENGTH)?;
    let permissions = permission_list(input.permissions);
    caller.require_all(&permissions.iter().copied().collect(), "this role")?;
    if caller.roles.roles.len() >= MAX_CUSTOM_ROLES {
        return Err(ApiError::conflict(format!(
            "an organization can have at most {MAX_CUSTOM_ROLES} custom roles"
        )));
    }

    let now = Timestamp::now();
    let role = CustomRole {
        id: RoleId::new(),
        name,
        description,
        permissions,
        member_count: 0,
        created_at: now,
        updated_at: now,
    };
    let mut document = caller.roles.clone();
    document.roles.insert(role.id.to_string(), role.clone());
    commit_roles_change(
        store,
        caller,
        &document,
        "role.created",
        &role.id,
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    Ok(RoleView::custom(&role))
}

pub async fn update_role(store: &Store, caller: &Caller, id: &str, input: UpdateRole) -> ApiResult<RoleView> {
    caller.require(Permission::RolesWrite)?;
    let before = custom_role_for_change(caller, id)?.clone();
    let mut after = before.clone();
    if let Some(name) = input.name {
        after.name = role_name(&caller.roles, &name, Some(&before.id))?;
    }
    if let Some(description) = input.description {
        after.description = validation::optional_text("description", description.as_deref(), MAX_DESCRIPTION_LENGTH)?;
    }
    if let Some(permissions) = input.permissions {
        after.permissions = permission_list(permissions);
        caller.require_all(&after.permissions.iter().copied().collect(), "this role")?;
    }
    let mut changes = serde_json::Map::new();
    if before.name != after.name {
        changes.insert("name".into(), json!({ "from": before.name, "to": after.name }));
    }
    if before.description != after.description {
        changes.insert(
            "description".into(),
            json!({ "from": before.description, "to": after.description }),
        );
    }
    if before.permissions != after.permissions {
        changes.insert(
            "permissions".into(),
            json!({ "from": before.permissions, "to": after.permissions }),
        );
    }
    if changes.is_empty() {
        return Ok(RoleView::custom(&before));
    }
    after.updated_at = Timestamp::now();
    let mut document = caller.roles.clone();
    document.roles.insert(after.id.to_string(), after.clone());
    commit_roles_change(
        store,
        caller,
        &document,
        "role.updated",
        &after.id,
        serde_json::Value::Object(changes),
    )
    .await?;
    Ok(RoleView::custom(&after))
}

/// Deletes a custom role nobody holds. The holder count lives in the same versioned
/// document that member changes update, so a concurrent assignment cannot slip through.
pub async fn delete_role(store: &Store, caller: &Caller, id: &str) -> ApiResult<RoleView> {
    caller.require(Permission::RolesWrite)?;
    let role = custom_role_for_change(caller, id)?.clone();
    if role.member_count > 0 {
        return Err(ApiError::conflict(format!(
            "role `{}` is held by {} member(s); remove it from them first",
            role.name, role.member_count
        )));
    }
    let mut document = caller.roles.clone();
    document.roles.remove(role.id.as_str());
    commit_roles_change(
        store,
        caller,
        &document,
        "role.deleted",
        &role.id,
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    Ok(RoleView::custom(&role))
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
            member_count: 0,
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
    fn holder_counts_follow_role_changes() {
        let a = RoleId::new();
        let b = RoleId::new();
        let mut document = RolesDocument::default();
        document.roles.insert(a.to_string(), custom(&a, vec![]));
        document.roles.insert(b.to_string(), custom(&b, vec![]));
        document.move_holders(&[], &[RoleRef::Custom(a.clone())]);
        document.move_holders(&[RoleRef::Custom(a.clone())], &[RoleRef::Custom(b.clone())]);
        assert_eq!(document.get(&a).unwrap().member_count, 0);
        assert_eq!(document.get(&b).unwrap().member_count, 1);
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
