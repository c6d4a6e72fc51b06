//! Roles: list, read, create, update and delete custom roles. The caller's roles document
//! was read at authentication; every change writes it back at the next version.

use crate::error::{ApiError, ApiResult};
use crate::ids::RoleId;
use crate::model::events::roles::{RoleDefinition, RoleUpdated};
use crate::model::events::{Event, OptionalTextChange, PermissionsChange, TextChange};
use crate::model::principal::Principal;
use crate::model::roles::{
    CreateRole, CustomRole, MAX_CUSTOM_ROLES, MAX_DESCRIPTION_LENGTH, MAX_ROLE_NAME_LENGTH, RoleRef, RoleView,
    RolesDocument, SystemRole, UpdateRole, permission_list,
};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::store::{self, Store, Transaction};
use crate::validation;

fn role_name(caller_roles: &RolesDocument, name: &str, except: Option<&RoleId>) -> ApiResult<String> {
    let name = validation::one_line_text("name", name, MAX_ROLE_NAME_LENGTH)?;
    if caller_roles.name_taken(&name, except) {
        return Err(ApiError::conflict(format!("a role named `{name}` already exists")));
    }
    Ok(name)
}

/// System roles first (fixed order), then custom roles by id; the cursor holds the last id.
pub fn list_roles(principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<RoleView>> {
    principal.require(Permission::RolesRead)?;
    let all: Vec<RoleView> = SystemRole::ALL
        .into_iter()
        .map(RoleView::system)
        .chain(principal.roles.roles.values().map(RoleView::custom))
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

pub fn get_role(principal: &Principal, id: &str) -> ApiResult<RoleView> {
    principal.require(Permission::RolesRead)?;
    match RoleRef::parse("id", id)? {
        RoleRef::System(role) => Ok(RoleView::system(role)),
        RoleRef::Custom(id) => principal
            .roles
            .get(&id)
            .map(RoleView::custom)
            .ok_or(ApiError::NotFound { resource: "role" }),
    }
}

fn custom_role_for_change<'a>(principal: &'a Principal, id: &str) -> ApiResult<&'a CustomRole> {
    match RoleRef::parse("id", id)? {
        RoleRef::System(role) => Err(ApiError::forbidden_action(format!(
            "`{}` is a system role; its permissions are fixed",
            role.name()
        ))),
        RoleRef::Custom(id) => {
            let role = principal
                .roles
                .get(&id)
                .ok_or(ApiError::NotFound { resource: "role" })?;
            let held: PermissionSet = role.permissions.iter().copied().collect();
            principal.require_all(&held, "changing this role")?;
            Ok(role)
        }
    }
}

/// Saves the roles document as the caller read it at authentication, with the audit event.
async fn commit_roles_change(
    store: &Store,
    principal: &Principal,
    document: &RolesDocument,
    role: &RoleId,
    event: Event,
) -> ApiResult<()> {
    store::roles::check_document_fits(principal.org(), document)?;
    let mut transaction = Transaction::new();
    store::roles::put_document(&mut transaction, principal.org(), document)?;
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        role.as_str(),
        &event,
    )?;
    transaction.commit(store).await
}

pub async fn create_role(store: &Store, principal: &Principal, input: CreateRole) -> ApiResult<RoleView> {
    principal.require(Permission::RolesWrite)?;
    let name = role_name(&principal.roles, &input.name, None)?;
    let description =
        validation::optional_free_text("description", input.description.as_deref(), MAX_DESCRIPTION_LENGTH)?;
    let permissions = permission_list(input.permissions);
    principal.require_all(&permissions.iter().copied().collect(), "this role")?;
    if principal.roles.roles.len() >= MAX_CUSTOM_ROLES {
        return Err(ApiError::conflict(format!(
            "an organization can have at most {MAX_CUSTOM_ROLES} custom roles"
        )));
    }

    let now = store.clock().now();
    let role = CustomRole {
        id: RoleId::new(),
        name,
        description,
        permissions,
        member_count: 0,
        created_at: now,
        updated_at: now,
    };
    let mut document = principal.roles.clone();
    document.roles.insert(role.id.to_string(), role.clone());
    commit_roles_change(
        store,
        principal,
        &document,
        &role.id,
        Event::RoleCreated(RoleDefinition {
            name: role.name.clone(),
            permissions: role.permissions.clone(),
        }),
    )
    .await?;
    Ok(RoleView::custom(&role))
}

pub async fn update_role(store: &Store, principal: &Principal, id: &str, input: UpdateRole) -> ApiResult<RoleView> {
    principal.require(Permission::RolesWrite)?;
    let before = custom_role_for_change(principal, id)?.clone();
    let mut after = before.clone();
    if let Some(name) = input.name {
        after.name = role_name(&principal.roles, &name, Some(&before.id))?;
    }
    if let Some(description) = input.description {
        after.description =
            validation::optional_free_text("description", description.as_deref(), MAX_DESCRIPTION_LENGTH)?;
    }
    if let Some(permissions) = input.permissions {
        after.permissions = permission_list(permissions);
        principal.require_all(&after.permissions.iter().copied().collect(), "this role")?;
    }
    let changes = RoleUpdated {
        name: TextChange::of(&before.name, &after.name),
        description: OptionalTextChange::of(&before.description, &after.description),
        permissions: PermissionsChange::of(&before.permissions, &after.permissions),
    };
    if changes.is_empty() {
        return Ok(RoleView::custom(&before));
    }
    after.updated_at = store.clock().now();
    let mut document = principal.roles.clone();
    document.roles.insert(after.id.to_string(), after.clone());
    commit_roles_change(store, principal, &document, &after.id, Event::RoleUpdated(changes)).await?;
    Ok(RoleView::custom(&after))
}

/// Deletes a custom role nobody holds. The holder count lives in the same versioned
/// document that member changes update, so a concurrent assignment cannot slip through.
pub async fn delete_role(store: &Store, principal: &Principal, id: &str) -> ApiResult<RoleView> {
    principal.require(Permission::RolesWrite)?;
    let role = custom_role_for_change(principal, id)?.clone();
    if role.member_count > 0 {
        return Err(ApiError::conflict(format!(
            "role `{}` is held by {} member(s); remove it from them first",
            role.name, role.member_count
        )));
    }
    let mut document = principal.roles.clone();
    document.roles.remove(role.id.as_str());
    commit_roles_change(
        store,
        principal,
        &document,
        &role.id,
        Event::RoleDeleted(RoleDefinition {
            name: role.name.clone(),
            permissions: role.permissions.clone(),
        }),
    )
    .await?;
    Ok(RoleView::custom(&role))
}
