//! API keys: create, list and revoke a member's credentials.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::model::api_keys::{ApiKey, ApiKeyView, CreateApiKey, CreatedApiKey, new_key, unusable_because};
use crate::model::caller::Caller;
use crate::model::users::{Member, MemberStatus};
use crate::operations::users::get_member;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::{Permission, PermissionSet};
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::validation;

pub async fn create_api_key(store: &Store, caller: &Caller, input: CreateApiKey) -> ApiResult<CreatedApiKey> {
    caller.require(Permission::ApiKeysManage)?;
    let name = validation::one_line_text("name", &input.name, 100)?;
    let scope: PermissionSet = match input.permissions {
        Some(permissions) => permissions.into_iter().collect(),
        None => caller.permissions.clone(),
    };
    caller.require_all(&scope, "this API key")?;

    let user_id = input.user_id.unwrap_or_else(|| caller.user().clone());
    // The caller's own record was read at authentication; another member's is read now.
    let member = if &user_id == caller.user() {
        caller.member.clone()
    } else {
        let member = get_member(store, caller.org(), &user_id).await?;
        // A key acts as its member in the audit trail: only someone as privileged may mint one.
        caller.require_can_manage(&member)?;
        member
    };
    if member.status != MemberStatus::Active {
        return Err(ApiError::conflict(format!(
            "user `{user_id}` is {} and cannot be given an API key",
            member.status.as_str()
        )));
    }

    let (key, token) = new_key(caller.org(), &user_id, name, &scope, caller.user())?;
    let mut transaction = Transaction::new();
    store::api_keys::put_new(&mut transaction, &key)?;
    store::audit::record(
        &mut transaction,
        &caller.actor,
        "api_key.created",
        "api_key",
        key.id.as_str(),
        serde_json::json!({ "name": key.name, "userId": key.user_id, "permissions": key.permissions }),
    )?;
    transaction.commit(store).await?;
    Ok(CreatedApiKey {
        key: ApiKeyView::of(&key),
        secret: token,
    })
}

/// The organization's keys, each with whether it can be used now (its member and the
/// member who minted it are read in one BatchGetItem per page).
pub async fn list_api_keys(store: &Store, caller: &Caller, page: &PageRequest) -> ApiResult<ListPage<ApiKeyView>> {
    caller.require(Permission::ApiKeysManage)?;
    let result = store::api_keys::list(store, caller.org(), page.limit, page.after.as_ref()).await?;
    let people: Vec<UserId> = result
        .items
        .iter()
        .flat_map(|key| [key.user_id.clone(), key.created_by.clone()])
        .collect();
    let members: HashMap<UserId, Member> = store::members::get_many(store, caller.org(), &people)
        .await?
        .into_iter()
        .map(|member| (member.user_id.clone(), member))
        .collect();
    let data = result
        .items
        .iter()
        .map(|key| {
            let reason = unusable_because(key, members.get(&key.user_id), members.get(&key.created_by));
            ApiKeyView::with_reason(key, reason)
        })
        .collect();
    Ok(ListPage {
        data,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Revokes a key at once: the next request with it is refused. Revoking twice is a no-op
/// that answers the same final state, so retries are safe.
pub async fn revoke_api_key(store: &Store, caller: &Caller, id: &ApiKeyId) -> ApiResult<ApiKeyView> {
    caller.require(Permission::ApiKeysManage)?;
    let mut key = get_key_in_org(store, caller.org(), id).await?;
    if key.revoked_at.is_some() {
        return Ok(ApiKeyView::of(&key));
    }
    if &key.user_id != caller.user() {
        let owner = get_member(store, caller.org(), &key.user_id).await?;
        caller.require_can_manage(&owner)?;
    }
    let expected_version = key.version;
    key.revoked_at = Some(Timestamp::now());
    key.revoked_by = Some(caller.user().clone());
    key.version += 1;
    let mut transaction = Transaction::new();
    store::api_keys::put_updated(&mut transaction, &key, expected_version)?;
    store::audit::record(
        &mut transaction,
        &caller.actor,
        "api_key.revoked",
        "api_key",
        key.id.as_str(),
        serde_json::json!({ "name": key.name, "userId": key.user_id }),
    )?;
    transaction.commit(store).await?;
    Ok(ApiKeyView::of(&key))
}

/// A key of another organization is indistinguishable from one that does not exist.
async fn get_key_in_org(store: &Store, org: &OrgId, id: &ApiKeyId) -> ApiResult<ApiKey> {
    match store::api_keys::get(store, id).await? {
        Some(key) if &key.organization_id == org => Ok(key),
        _ => Err(ApiError::NotFound { resource: "API key" }),
    }
}
