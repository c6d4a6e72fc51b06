//! API keys: create, list and revoke a member's credentials.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::model::api_keys::{ApiKey, IssuedApiKey, KeyStanding, NewApiKey, new_key, unusable_because};
use crate::model::events::Event;
use crate::model::events::api_keys::{ApiKeyCreated, ApiKeyRevoked};
use crate::model::principal::Principal;
use crate::model::users::{Member, MemberStatus};
use crate::operations::users::get_member;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::store::{self, Store, Transaction};

pub async fn create_api_key(store: &Store, principal: &Principal, input: NewApiKey) -> ApiResult<IssuedApiKey> {
    principal.require(Permission::ApiKeysManage)?;
    let name = input.name;
    let scope: PermissionSet = match input.permissions {
        Some(permissions) => permissions.into_iter().collect(),
        None => principal.permissions.clone(),
    };
    principal.require_all(&scope, "this API key")?;

    let user_id = input.user_id.unwrap_or_else(|| principal.user().clone());
    // The caller's own record was read at authentication; another member's is read now.
    let member = if &user_id == principal.user() {
        principal.acting_member()?.clone()
    } else {
        let member = get_member(store, principal.org(), &user_id).await?;
        // A key acts as its member in the audit trail: only someone as privileged may mint one.
        principal.require_can_manage(&member)?;
        member
    };
    if member.status != MemberStatus::Active {
        return Err(ApiError::conflict(format!(
            "user `{user_id}` is {} and cannot be given an API key",
            member.status.as_str()
        )));
    }

    let (key, token) = new_key(
        principal.org(),
        &user_id,
        name,
        &scope,
        principal.user(),
        store.clock().now(),
    )?;
    let mut transaction = Transaction::new();
    store::api_keys::put_new(&mut transaction, &key)?;
    let event = Event::ApiKeyCreated(ApiKeyCreated {
        name: key.name.clone(),
        user_id: key.user_id.clone(),
        permissions: Some(key.permissions.clone()),
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        key.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(IssuedApiKey { key, secret: token })
}

/// The organization's keys, each with whether it can be used now (its member and the
/// member who minted it are read in one BatchGetItem per page).
pub async fn list_api_keys(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<KeyStanding>> {
    principal.require(Permission::ApiKeysManage)?;
    let result = store::api_keys::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    let people: Vec<UserId> = result
        .items
        .iter()
        .flat_map(|key| [key.user_id.clone(), key.created_by.clone()])
        .collect();
    let members: HashMap<UserId, Member> = store::members::get_many(store, principal.org(), &people)
        .await?
        .into_iter()
        .map(|member| (member.user_id.clone(), member))
        .collect();
    let data = result
        .items
        .into_iter()
        .map(|key| {
            let inactive_reason = unusable_because(&key, members.get(&key.user_id), members.get(&key.created_by));
            KeyStanding { key, inactive_reason }
        })
        .collect();
    Ok(ListPage {
        data,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Revokes a key at once: the next request with it is refused. Revoking twice is a no-op
/// that answers the same final state, so retries are safe.
pub async fn revoke_api_key(store: &Store, principal: &Principal, id: &ApiKeyId) -> ApiResult<ApiKey> {
    principal.require(Permission::ApiKeysManage)?;
    let mut key = get_key_in_org(store, principal.org(), id).await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    if &key.user_id != principal.user() {
        let owner = get_member(store, principal.org(), &key.user_id).await?;
        principal.require_can_manage(&owner)?;
    }
    let expected_version = key.version;
    key.revoked_at = Some(store.clock().now());
    key.revoked_by = Some(principal.user().clone());
    key.version += 1;
    let mut transaction = Transaction::new();
    store::api_keys::put_updated(&mut transaction, &key, expected_version)?;
    let event = Event::ApiKeyRevoked(ApiKeyRevoked {
        name: key.name.clone(),
        user_id: key.user_id.clone(),
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        key.id.as_str(),
        &event,
    )?;
    transaction.commit(store).await?;
    Ok(key)
}

/// A key of another organization is indistinguishable from one that does not exist.
async fn get_key_in_org(store: &Store, org: &OrgId, id: &ApiKeyId) -> ApiResult<ApiKey> {
    match store::api_keys::get(store, id).await? {
        Some(key) if &key.organization_id == org => Ok(key),
        _ => Err(ApiError::NotFound { resource: "API key" }),
    }
}
