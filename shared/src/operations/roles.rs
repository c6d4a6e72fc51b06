//! Roles: list, read, create, update and delete custom roles. The caller's roles document
//! was read at authentication; every change writes it back at the next version. A custom
//! role's holders are its links (`store::links`), counted when a role is shown.

use crate::error::{ApiError, ApiResult};
use crate::ids::RoleId;
use crate::model::events::roles::{RoleDefinition, RoleUpdated};
use crate::model::events::{Event, OptionalTextChange, PermissionsChange, TextChange};
use crate::model::principal::Principal;
use crate::model::roles::{CustomRole, MAX_CUSTOM_ROLES, NewRole, Role, RoleEdit, RoleRef, RolesDocument, SystemRole};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::store::{self, Store, Transaction};

/// A role name no other role of the organization has (ignoring case).
fn unique_name(caller_roles: &RolesDocument, name: String, except: Option<&RoleId>) -> ApiResult<String> {
    if caller_roles.name_taken(&name, except) {
        return Err(ApiError::conflict(format!("a role named `{name}` already exists")));
    }
    Ok(name)
}

/// A custom role with its holders counted.
async fn with_holders(store: &Store, principal: &Principal, role: &CustomRole) -> ApiResult<Role> {
    let holders = store::roles::holders(store, principal.org(), &role.id).await?;
    Ok(Role::Custom {
        role: role.clone(),
        holders,
    })
}

/// A role of the list, before its holders are counted.
enum Listed<'a> {
    System(SystemRole),
    Custom(&'a CustomRole),
}

impl Listed<'_> {
    fn id(&self) -> String {
        match self {
            Listed::System(role) => role.name().to_string(),
            Listed::Custom(role) => role.id.to_string(),
        }
    }
}

/// System roles first (fixed order), then custom roles by id; the cursor holds the last id.
/// The custom roles of the page have their holders counted, concurrently.
pub async fn list_roles(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<Role>> {
    principal.require(Permission::RolesRead)?;
    let all: Vec<Listed> = SystemRole::ALL
        .into_iter()
        .map(Listed::System)
        .chain(principal.roles.roles.values().map(Listed::Custom))
        .collect();
    let start = match page.after.as_ref().and_then(|position| position.get("id")) {
        Some(last) => all
            .iter()
            .position(|role| &role.id() == last)
            .map(|index| index + 1)
            .unwrap_or(all.len()),
        None => 0,
    };
    let mut listed: Vec<Listed> = all.into_iter().skip(start).take(page.limit + 1).collect();
    let next = if listed.len() > page.limit {
        listed.truncate(page.limit);
        listed.last().map(|role| [("id".to_string(), role.id())].into())
    } else {
        None
    };
    let data = futures::future::try_join_all(listed.into_iter().map(|role| async move {
        match role {
            Listed::System(system) => Ok(Role::System(system)),
            Listed::Custom(custom) => with_holders(store, principal, custom).await,
        }
    }))
    .await?;
    Ok(ListPage {
        data,
        next_cursor: page.next_cursor(next),
    })
}

pub async fn get_role(store: &Store, principal: &Principal, id: &str) -> ApiResult<Role> {
    principal.require(Permission::RolesRead)?;
    match RoleRef::parse("id", id)? {
        RoleRef::System(role) => Ok(Role::System(role)),
        RoleRef::Custom(id) => {
            let role = principal
                .roles
                .get(&id)
                .ok_or(ApiError::NotFound { resource: "role" })?;
            with_holders(store, principal, role).await
        }
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

pub async fn create_role(store: &Store, principal: &Principal, input: NewRole) -> ApiResult<Role> {
    principal.require(Permission::RolesWrite)?;
    let name = unique_name(&principal.roles, input.name, None)?;
    let description = input.description;
    let permissions = input.permissions;
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
        created_at: now,
        updated_at: now,
        closing_until: None,
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
    Ok(Role::Custom { role, holders: 0 })
}

pub async fn update_role(store: &Store, principal: &Principal, id: &str, input: RoleEdit) -> ApiResult<Role> {
    principal.require(Permission::RolesWrite)?;
    let before = custom_role_for_change(principal, id)?.clone();
    let mut after = before.clone();
    if let Some(name) = input.name {
        after.name = unique_name(&principal.roles, name, Some(&before.id))?;
    }
    if let Some(description) = input.description {
        after.description = description;
    }
    if let Some(permissions) = input.permissions {
        after.permissions = permissions;
        principal.require_all(&after.permissions.iter().copied().collect(), "this role")?;
    }
    let changes = RoleUpdated {
        name: TextChange::of(&before.name, &after.name),
        description: OptionalTextChange::of(&before.description, &after.description),
        permissions: PermissionsChange::of(&before.permissions, &after.permissions),
    };
    if changes.is_empty() {
        return with_holders(store, principal, &before).await;
    }
    after.updated_at = store.clock().now();
    let mut document = principal.roles.clone();
    document.roles.insert(after.id.to_string(), after.clone());
    // Counted before the commit, so that the commit is the change's last call (a failure
    // is then always a change not made); editing a role changes no one's holding of it.
    let answer = with_holders(store, principal, &after).await?;
    commit_roles_change(store, principal, &document, &after.id, Event::RoleUpdated(changes)).await?;
    Ok(answer)
}

/// Deletes a custom role nobody holds. Race-free without member changes writing the
/// document: the role is first fenced in the document (`closingUntil`: no member change
/// may take it, `store::roles::check_roles_usable`), then its holders are counted
/// (strongly consistent), then it is removed, or unfenced with the same `409` as before.
pub async fn delete_role(store: &Store, principal: &Principal, id: &str) -> ApiResult<Role> {
    principal.require(Permission::RolesWrite)?;
    let role = custom_role_for_change(principal, id)?.clone();
    // Groups' grants are in the document itself, so this check holds until the commit
    // below, which is conditioned on the document's version.
    let granting = principal.roles.groups_granting(&RoleRef::Custom(role.id.clone()));
    if let Some(group) = granting.first() {
        return Err(ApiError::conflict(format!(
            "role `{}` is granted by {} group(s), such as `{group}`; take it off them first",
            role.name,
            granting.len()
        )));
    }
    let org = principal.org();
    let until = store::links::fence_until(store.clock().now());
    let mut fenced = principal.roles.clone();
    if let Some(entry) = fenced.roles.get_mut(role.id.as_str()) {
        entry.closing_until = Some(until);
    }
    let mut transaction = Transaction::new();
    store::roles::put_document(&mut transaction, org, &fenced)?;
    // Sent now even under an `Idempotency-Key`: the count below relies on the fence being
    // in the table, so it is never held for the answer (`Transaction::commit`).
    transaction.send(store).await?;
    fenced.version += 1;

    let holders = store::roles::holders(store, org, &role.id).await;
    let in_time = store.clock().now().millis() < until;
    let outcome = match holders {
        Ok(0) if in_time => {
            let mut document = fenced.clone();
            document.roles.remove(role.id.as_str());
            let event = Event::RoleDeleted(RoleDefinition {
                name: role.name.clone(),
                permissions: role.permissions.clone(),
            });
            match commit_roles_change(store, principal, &document, &role.id, event).await {
                Ok(()) => return Ok(Role::Custom { role, holders: 0 }),
                Err(error) => Err(error),
            }
        }
        Ok(0) => Err(ApiError::conflict("this change took too long and was not made; retry")),
        Ok(count) => Err(ApiError::conflict(format!(
            "role `{}` is held by {count} member(s); remove it from them first",
            role.name
        ))),
        Err(error) => Err(error),
    };
    // Not deleted: lift the fence (best effort; it expires by itself).
    let mut unfenced = fenced;
    if let Some(entry) = unfenced.roles.get_mut(role.id.as_str()) {
        entry.closing_until = None;
    }
    let mut transaction = Transaction::new();
    if store::roles::put_document(&mut transaction, org, &unfenced).is_ok() {
        let _ = transaction.send(store).await;
    }
    outcome
}
