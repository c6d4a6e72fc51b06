//! Users: members of an organization. One account (`usr_…`) may belong to several
//! organizations; each membership carries that organization's view of the person (profile,
//! roles, status), so an organization sees and manages only its own members.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, UserId};
use crate::model::roles::{RoleRef, SystemRole};
use crate::patch;
use crate::permissions::Permission;
use crate::time::Timestamp;

/// Titles, external ids and organization names: as long as a display name may be.
pub const MAX_NAME_LENGTH: usize = crate::validation::MAX_DISPLAY_NAME_LENGTH;
pub const MAX_ROLES_PER_MEMBER: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Suspended,
    /// Soft-deleted: access revoked, record and history kept.
    Deleted,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Suspended => "suspended",
            MemberStatus::Deleted => "deleted",
        }
    }

    pub fn parse(field: &str, text: &str) -> ApiResult<MemberStatus> {
        match text {
            "active" => Ok(MemberStatus::Active),
            "suspended" => Ok(MemberStatus::Suspended),
            "deleted" => Ok(MemberStatus::Deleted),
            _ => Err(ApiError::validation(
                field,
                format!("`{field}` must be active, suspended or deleted"),
            )),
        }
    }
}

/// A membership as stored; also the user object of the API (minus `version`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(rename = "id")]
    pub user_id: UserId,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    /// The person's id in the customer's identity directory (Okta, Entra ID, HR system).
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

impl Member {
    /// An active member holding the `admin` system role: every permission there is, so
    /// somebody can always grant roles, read the audit trail and manage keys.
    pub fn is_active_admin(&self) -> bool {
        self.status == MemberStatus::Active && self.roles.contains(&RoleRef::System(SystemRole::Admin))
    }
}

/// The user object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl UserView {
    pub fn of(member: &Member) -> Self {
        UserView {
            id: member.user_id.clone(),
            email: member.email.clone(),
            display_name: member.display_name.clone(),
            title: member.title.clone(),
            external_id: member.external_id.clone(),
            roles: member.roles.clone(),
            status: member.status,
            created_at: member.created_at,
            updated_at: member.updated_at,
            deleted_at: member.deleted_at,
        }
    }
}

/// An organization the caller's account belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    pub id: OrgId,
    pub name: String,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub current: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub permission: Permission,
    pub allowed: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// Defaults to `["viewer"]`.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub roles: Option<Vec<RoleRef>>,
    /// `active` or `suspended`; deletion is `DELETE /users/{id}`.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub status: Option<MemberStatus>,
}

/// Which members a list shows; by default those not deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFilter {
    pub statuses: Vec<MemberStatus>,
    pub role: Option<RoleRef>,
}

impl UserFilter {
    pub fn parse(status: Option<&str>, role: Option<&str>) -> ApiResult<UserFilter> {
        let statuses = match status {
            None => vec![MemberStatus::Active, MemberStatus::Suspended],
            Some(text) => vec![MemberStatus::parse("status", text)?],
        };
        let role = role.map(|text| RoleRef::parse("role", text)).transpose()?;
        Ok(UserFilter { statuses, role })
    }

    /// Names the query for cursor binding.
    pub fn fingerprint(&self) -> String {
        let statuses: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
        let role = self.role.as_ref().map(ToString::to_string).unwrap_or_default();
        format!("users?status={}&role={role}", statuses.join(","))
    }
}

/// At most `MAX_ROLES_PER_MEMBER` roles, each once, in the order given.
pub fn normalize_roles(roles: Vec<RoleRef>) -> ApiResult<Vec<RoleRef>> {
    if roles.len() > MAX_ROLES_PER_MEMBER {
        return Err(ApiError::validation(
            "roles",
            format!("a member can hold at most {MAX_ROLES_PER_MEMBER} roles"),
        ));
    }
    let mut unique: Vec<RoleRef> = Vec::with_capacity(roles.len());
    for role in roles {
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    Ok(unique)
}
