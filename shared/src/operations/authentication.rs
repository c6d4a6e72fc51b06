//! Authentication: an `X-API-Key` becomes a `Principal` (the member acting through that
//! key) with the permissions it may use, in at most two DynamoDB round trips (the key by
//! id, then the member and the organization's roles document together). See
//! `docs/authorization.md`.

use crate::error::{ApiError, ApiResult};
use crate::model::api_keys::{self, ApiKey, unusable_because};
use crate::model::principal::{Actor, Principal};
use crate::store::{self, Store};

pub async fn authenticate(store: &Store, presented: Option<&str>) -> ApiResult<Principal> {
    let presented = presented.ok_or(ApiError::Unauthenticated)?;
    let (key_id, secret) = api_keys::parse_token(presented).ok_or(ApiError::Unauthenticated)?;

    // Round trip 1: the key, by the id embedded in the token.
    let key: ApiKey = store::api_keys::get(store, &key_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if key.revoked_at.is_some() || !api_keys::secret_matches(secret, &key.secret_hash) {
        return Err(ApiError::Unauthenticated);
    }

    // Round trip 2: the member, every role definition of the organization and, for a key
    // minted by someone else, that member: offboarding the creator ends the key's use.
    let creator_id = (key.created_by != key.user_id).then_some(&key.created_by);
    let records = store::members::get_for_authentication(store, &key.organization_id, &key.user_id, creator_id).await?;
    if unusable_because(&key, records.member.as_ref(), records.creator.as_ref()).is_some() {
        return Err(ApiError::Unauthenticated);
    }
    let Some(member) = records.member else {
        return Err(ApiError::Unauthenticated);
    };
    let roles = records.roles;

    // A key never outranks its member, nor the member who minted it, as they are now:
    // their own roles and their groups' (effective roles).
    let granted = roles.permissions_of(&member.effective_roles(&roles));
    let creator_grants = records
        .creator
        .as_ref()
        .map(|creator| roles.permissions_of(&creator.effective_roles(&roles)));
    let permissions = key
        .permissions
        .iter()
        .copied()
        .filter(|p| granted.contains(p))
        .filter(|p| creator_grants.as_ref().is_none_or(|creator| creator.contains(p)))
        .collect();
    // The access log cannot see who called; this line (joined on the Lambda request id of
    // the runtime's span) can, and names the key by its id, never its secret.
    tracing::info!(keyId = %key.id, userId = %key.user_id, organizationId = %key.organization_id, "request authenticated");
    let actor = Actor {
        org_id: key.organization_id,
        user_id: key.user_id,
        api_key_id: Some(key.id),
    };
    Ok(Principal::member(actor, member, roles, permissions))
}
