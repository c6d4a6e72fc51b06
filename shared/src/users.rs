//! Users: members of an organization. One account (`usr_…`) may belong to several
//! organizations; each membership carries that organization's view of the person (profile,
//! roles, status), so an organization sees and manages only its own members.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::double_option;
use crate::ids::{OrgId, UserId};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::roles::{RoleRef, RolesDocument, SystemRole};
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::validation;

pub const MAX_NAME_LENGTH: usize = 200;
pub const MAX_ROLES_PER_MEMBER: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The user object of the API.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipView {
    pub id: OrgId,
    pub name: String,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub current: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub permission: Permission,
    pub allowed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    /// Defaults to `["viewer"]`.
    pub roles: Option<Vec<RoleRef>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub external_id: Option<Option<String>>,
    pub roles: Option<Vec<RoleRef>>,
    /// `active` or `suspended`; deletion is `DELETE /users/{id}`.
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

fn normalize_roles(roles: Vec<RoleRef>) -> ApiResult<Vec<RoleRef>> {
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

pub async fn get_member(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<Member> {
    store::members::get(store, org, user)
        .await?
        .ok_or(ApiError::NotFound { resource: "user" })
}

pub async fn get_user(store: &Store, caller: &Caller, user: &UserId) -> ApiResult<UserView> {
    caller.require(Permission::UsersRead)?;
    get_member(store, caller.org(), user)
        .await
        .map(|member| UserView::of(&member))
}

pub async fn list_users(
    store: &Store,
    caller: &Caller,
    filter: &UserFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<UserView>> {
    caller.require(Permission::UsersRead)?;
    let result = store::members::list(store, caller.org(), filter, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items.iter().map(UserView::of).collect(),
        next_cursor: page.next_cursor(result.next),
    })
}

pub fn current_user(caller: &Caller) -> UserView {
    UserView::of(&caller.member)
}

pub fn check_access(caller: &Caller, permission: Option<&str>) -> ApiResult<AccessCheck> {
    let name = permission
        .ok_or_else(|| ApiError::validation("permission", "`permission` is required, e.g. ?permission=users:read"))?;
    let permission = Permission::parse(name)
        .ok_or_else(|| ApiError::validation("permission", format!("`{name}` is not a permission")))?;
    Ok(AccessCheck {
        permission,
        allowed: caller.has(permission),
    })
}

pub async fn my_organizations(store: &Store, caller: &Caller) -> ApiResult<Vec<MembershipView>> {
    let memberships = store::members::memberships_of(store, caller.user()).await?;
    Ok(memberships
        .into_iter()
        .filter(|member| member.status != MemberStatus::Deleted)
        .map(|member| MembershipView {
            current: &member.organization_id == caller.org(),
            id: member.organization_id,
            name: member.organization_name,
            roles: member.roles,
            status: member.status,
        })
        .collect())
}

/// Members are managed only by callers who hold every permission the member holds, so
/// nobody can demote, suspend, delete, or mint or revoke keys for someone more privileged
/// than themselves.
pub fn require_can_manage(caller: &Caller, member: &Member) -> ApiResult<()> {
    let held: PermissionSet = caller.roles.permissions_of(&member.roles);
    caller.require_all(&held, "managing this user")
}

/// Roles may only be given if they exist and grant nothing the caller lacks.
fn require_can_grant(caller: &Caller, roles: &[RoleRef]) -> ApiResult<()> {
    caller.roles.check_exist(roles)?;
    caller.require_all(&caller.roles.permissions_of(roles), "these roles")
}

pub async fn create_user(store: &Store, caller: &Caller, input: CreateUser) -> ApiResult<UserView> {
    caller.require(Permission::UsersWrite)?;
    let email = validation::email("email", &input.email)?;
    let display_name = validation::required_text("displayName", &input.display_name, MAX_NAME_LENGTH)?;
    let title = validation::optional_text("title", input.title.as_deref(), MAX_NAME_LENGTH)?;
    let external_id = validation::optional_text("externalId", input.external_id.as_deref(), MAX_NAME_LENGTH)?;
    let roles = normalize_roles(input.roles.unwrap_or_else(|| vec![RoleRef::System(SystemRole::Viewer)]))?;
    require_can_grant(caller, &roles)?;

    let now = Timestamp::now();
    let member = Member {
        user_id: UserId::new(),
        organization_id: caller.org().clone(),
        organization_name: caller.member.organization_name.clone(),
        email,
        display_name,
        title,
        external_id,
        roles,
        status: MemberStatus::Active,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let mut transaction = Transaction::new();
    store::members::put_new(&mut transaction, &member)?;
    update_role_holders(&mut transaction, caller, &[], &member.roles)?;
    audit::record(
        &mut transaction,
        &caller.actor,
        "user.created",
        "user",
        member.user_id.as_str(),
        json!({ "email": member.email, "displayName": member.display_name, "roles": member.roles }),
    )?;
    transaction.commit(store).await?;
    Ok(UserView::of(&member))
}

/// Keeps custom roles' holder counts true in the same transaction as the member change.
fn update_role_holders(
    transaction: &mut Transaction,
    caller: &Caller,
    before: &[RoleRef],
    after: &[RoleRef],
) -> ApiResult<()> {
    if !RolesDocument::holds_custom_role(before) && !RolesDocument::holds_custom_role(after) {
        return Ok(());
    }
    let mut document = caller.roles.clone();
    document.move_holders(before, after);
    store::roles::put_document(transaction, caller.org(), &document)
}

pub async fn update_user(store: &Store, caller: &Caller, user: &UserId, input: UpdateUser) -> ApiResult<UserView> {
    caller.require(Permission::UsersWrite)?;
    let before = get_member(store, caller.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Err(ApiError::conflict(
            "this user is deleted; create the user again to restore access",
        ));
    }
    require_can_manage(caller, &before)?;

    let mut after = before.clone();
    let mut changes = Map::new();
    if let Some(email) = input.email {
        after.email = validation::email("email", &email)?;
    }
    if let Some(name) = input.display_name {
        after.display_name = validation::required_text("displayName", &name, MAX_NAME_LENGTH)?;
    }
    if let Some(title) = input.title {
        after.title = validation::optional_text("title", title.as_deref(), MAX_NAME_LENGTH)?;
    }
    if let Some(external_id) = input.external_id {
        after.external_id = validation::optional_text("externalId", external_id.as_deref(), MAX_NAME_LENGTH)?;
    }
    if let Some(roles) = input.roles {
        after.roles = normalize_roles(roles)?;
        require_can_grant(caller, &after.roles)?;
    }
    if let Some(status) = input.status {
        if status == MemberStatus::Deleted {
            return Err(ApiError::validation(
                "status",
                "`status` must be active or suspended; use DELETE /users/{id} to delete",
            ));
        }
        if status == MemberStatus::Suspended && user == caller.user() {
            return Err(ApiError::conflict("you cannot suspend yourself"));
        }
        after.status = status;
    }
    record_change(&mut changes, "email", &before.email, &after.email);
    record_change(&mut changes, "displayName", &before.display_name, &after.display_name);
    record_change(&mut changes, "title", &before.title, &after.title);
    record_change(&mut changes, "externalId", &before.external_id, &after.external_id);
    record_change(&mut changes, "roles", &before.roles, &after.roles);
    record_change(&mut changes, "status", &before.status, &after.status);
    if changes.is_empty() {
        return Ok(UserView::of(&before));
    }

    after.updated_at = Timestamp::now();
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    update_role_holders(&mut transaction, caller, &before.roles, &after.roles)?;
    if after.status != MemberStatus::Active {
        store::cip_senior_manager::check_not_current_designee(&mut transaction, caller.org(), user)?;
    }
    audit::record(
        &mut transaction,
        &caller.actor,
        "user.updated",
        "user",
        user.as_str(),
        Value::Object(changes),
    )?;
    transaction.commit(store).await?;
    Ok(UserView::of(&after))
}

/// Soft delete (seed 004): the membership is kept with status `deleted`, its keys stop
/// working at once (authentication checks the member), and its email is released so the
/// person can be created again.
pub async fn delete_user(store: &Store, caller: &Caller, user: &UserId) -> ApiResult<UserView> {
    caller.require(Permission::UsersWrite)?;
    let before = get_member(store, caller.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Ok(UserView::of(&before));
    }
    if user == caller.user() {
        return Err(ApiError::conflict("you cannot delete yourself"));
    }
    require_can_manage(caller, &before)?;

    let now = Timestamp::now();
    let mut after = before.clone();
    after.status = MemberStatus::Deleted;
    after.deleted_at = Some(now);
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    update_role_holders(&mut transaction, caller, &before.roles, &[])?;
    store::cip_senior_manager::check_not_current_designee(&mut transaction, caller.org(), user)?;
    audit::record(
        &mut transaction,
        &caller.actor,
        "user.deleted",
        "user",
        user.as_str(),
        json!({ "email": before.email, "status": { "from": before.status, "to": after.status } }),
    )?;
    transaction.commit(store).await?;
    Ok(UserView::of(&after))
}

fn record_change<T: Serialize + PartialEq>(changes: &mut Map<String, Value>, field: &str, before: &T, after: &T) {
    if before != after {
        changes.insert(field.to_string(), json!({ "from": before, "to": after }));
    }
}
