//! Users: list, read, create, update and (soft) delete the members of the caller's
//! organization, and what a caller can ask about itself.

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, UserId};
use crate::model::events::users::{UserCreated, UserDeleted, UserUpdated};
use crate::model::events::{Event, MemberStatusChange, OptionalTextChange, RolesChange, TextChange};
use crate::model::principal::Principal;
use crate::model::roles::{RoleRef, RolesDocument, SystemRole};
use crate::model::users::{
    AccessCheck, CreateUser, MAX_NAME_LENGTH, Member, MemberStatus, MembershipView, UpdateUser, UserFilter, UserView,
    normalize_roles,
};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::validation;

pub async fn get_member(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<Member> {
    store::members::get(store, org, user)
        .await?
        .ok_or(ApiError::NotFound { resource: "user" })
}

pub async fn get_user(store: &Store, principal: &Principal, user: &UserId) -> ApiResult<UserView> {
    principal.require(Permission::UsersRead)?;
    get_member(store, principal.org(), user)
        .await
        .map(|member| UserView::of(&member))
}

pub async fn list_users(
    store: &Store,
    principal: &Principal,
    filter: &UserFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<UserView>> {
    principal.require(Permission::UsersRead)?;
    let result = store::members::list(store, principal.org(), filter, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items.iter().map(UserView::of).collect(),
        next_cursor: page.next_cursor(result.next),
    })
}

pub fn current_user(principal: &Principal) -> ApiResult<UserView> {
    principal.acting_member().map(UserView::of)
}

pub fn check_access(principal: &Principal, permission: Option<&str>) -> ApiResult<AccessCheck> {
    let name = permission
        .ok_or_else(|| ApiError::validation("permission", "`permission` is required, e.g. ?permission=users:read"))?;
    let permission = Permission::parse(name)
        .ok_or_else(|| ApiError::validation("permission", format!("`{name}` is not a permission")))?;
    Ok(AccessCheck {
        permission,
        allowed: principal.has(permission),
    })
}

pub async fn my_organizations(store: &Store, principal: &Principal) -> ApiResult<Vec<MembershipView>> {
    let memberships = store::members::memberships_of(store, principal.user()).await?;
    Ok(memberships
        .into_iter()
        .filter(|member| member.status != MemberStatus::Deleted)
        .map(|member| MembershipView {
            current: &member.organization_id == principal.org(),
            id: member.organization_id,
            name: member.organization_name,
            roles: member.roles,
            status: member.status,
        })
        .collect())
}

pub async fn create_user(store: &Store, principal: &Principal, input: CreateUser) -> ApiResult<UserView> {
    principal.require(Permission::UsersWrite)?;
    let email = validation::email("email", &input.email)?;
    let display_name = validation::display_name("displayName", &input.display_name)?;
    let title = validation::optional_one_line_text("title", input.title.as_deref(), MAX_NAME_LENGTH)?;
    let external_id = validation::optional_one_line_text("externalId", input.external_id.as_deref(), MAX_NAME_LENGTH)?;
    let roles = normalize_roles(input.roles.unwrap_or_else(|| vec![RoleRef::System(SystemRole::Viewer)]))?;
    principal.require_can_grant(&roles)?;

    let now = store.clock().now();
    let member = Member {
        user_id: UserId::new(),
        organization_id: principal.org().clone(),
        organization_name: principal.acting_member()?.organization_name.clone(),
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
    update_role_holders(&mut transaction, principal, &[], &member.roles)?;
    let event = Event::UserCreated(UserCreated {
        email: member.email.clone(),
        display_name: Some(member.display_name.clone()),
        roles: member.roles.clone(),
        invitation_id: None,
    });
    store::audit::record(&mut transaction, &principal.actor, now, member.user_id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(UserView::of(&member))
}

/// Keeps custom roles' holder counts true in the same transaction as the member change.
fn update_role_holders(
    transaction: &mut Transaction,
    principal: &Principal,
    before: &[RoleRef],
    after: &[RoleRef],
) -> ApiResult<()> {
    if !RolesDocument::holds_custom_role(before) && !RolesDocument::holds_custom_role(after) {
        return Ok(());
    }
    let mut document = principal.roles.clone();
    document.move_holders(before, after);
    store::roles::put_document(transaction, principal.org(), &document)
}

pub async fn update_user(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    input: UpdateUser,
) -> ApiResult<UserView> {
    principal.require(Permission::UsersWrite)?;
    let before = get_member(store, principal.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Err(ApiError::conflict(
            "this user is deleted; create the user again to restore access",
        ));
    }
    principal.require_can_manage(&before)?;

    let mut after = before.clone();
    if let Some(email) = input.email {
        after.email = validation::email("email", &email)?;
    }
    if let Some(name) = input.display_name {
        after.display_name = validation::display_name("displayName", &name)?;
    }
    if let Some(title) = input.title {
        after.title = validation::optional_one_line_text("title", title.as_deref(), MAX_NAME_LENGTH)?;
    }
    if let Some(external_id) = input.external_id {
        after.external_id = validation::optional_one_line_text("externalId", external_id.as_deref(), MAX_NAME_LENGTH)?;
    }
    if let Some(roles) = input.roles {
        after.roles = normalize_roles(roles)?;
        principal.require_can_grant(&after.roles)?;
    }
    if let Some(status) = input.status {
        if status == MemberStatus::Deleted {
            return Err(ApiError::validation(
                "status",
                "`status` must be active or suspended; use DELETE /users/{id} to delete",
            ));
        }
        if status == MemberStatus::Suspended && user == principal.user() {
            return Err(ApiError::conflict("you cannot suspend yourself"));
        }
        after.status = status;
    }
    let changes = UserUpdated {
        email: TextChange::of(&before.email, &after.email),
        display_name: TextChange::of(&before.display_name, &after.display_name),
        title: OptionalTextChange::of(&before.title, &after.title),
        external_id: OptionalTextChange::of(&before.external_id, &after.external_id),
        roles: RolesChange::of(&before.roles, &after.roles),
        status: MemberStatusChange::of(&before.status, &after.status),
    };
    if changes.is_empty() {
        return Ok(UserView::of(&before));
    }

    let now = store.clock().now();
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    update_role_holders(&mut transaction, principal, &before.roles, &after.roles)?;
    if after.status != MemberStatus::Active {
        store::cip_senior_manager::check_not_current_designee(&mut transaction, principal.org(), user)?;
    }
    store::audit::record(
        &mut transaction,
        &principal.actor,
        now,
        user.as_str(),
        &Event::UserUpdated(changes),
    )?;
    transaction.commit(store).await?;
    Ok(UserView::of(&after))
}

/// Soft delete (seed 004): the membership is kept with status `deleted`, its keys stop
/// working at once (authentication checks the member), and its email is released so the
/// person can be created again.
pub async fn delete_user(store: &Store, principal: &Principal, user: &UserId) -> ApiResult<UserView> {
    principal.require(Permission::UsersWrite)?;
    let before = get_member(store, principal.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Ok(UserView::of(&before));
    }
    if user == principal.user() {
        return Err(ApiError::conflict("you cannot delete yourself"));
    }
    principal.require_can_manage(&before)?;

    let now = store.clock().now();
    let mut after = before.clone();
    after.status = MemberStatus::Deleted;
    after.deleted_at = Some(now);
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    update_role_holders(&mut transaction, principal, &before.roles, &[])?;
    store::cip_senior_manager::check_not_current_designee(&mut transaction, principal.org(), user)?;
    let event = Event::UserDeleted(UserDeleted {
        email: before.email.clone(),
        status: MemberStatusChange {
            from: before.status,
            to: after.status,
        },
    });
    store::audit::record(&mut transaction, &principal.actor, now, user.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(UserView::of(&after))
}
