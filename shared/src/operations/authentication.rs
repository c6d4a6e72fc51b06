//! Authentication: an `X-API-Key` becomes a `Caller` with the permissions it may use, in
//! at most two DynamoDB round trips (the key by id, then the member and the organization's
//! roles document together). See `docs/authorization.md`.

use crate::error::{ApiError, ApiResult};
use crate::model::api_keys::{self, ApiKey};
use crate::model::caller::{Actor, Caller};
use crate::model::users::MemberStatus;
use crate::store::{self, Store};

pub async fn authenticate(store: &Store, presented: Option<&str>) -> ApiResult<Caller> {
    let presented = presented.ok_or(ApiError::Unauthenticated)?;
    let (key_id, secret) = api_keys::parse_token(presented).ok_or(ApiError::Unauthenticated)?;

    // Round trip 1: the key, by the id embedded in the token.
    let key: ApiKey = store::api_keys::get(store, &key_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if key.revoked_at.is_some() || !api_keys::secret_matches(secret, &key.secret_hash) {
        return Err(ApiError::Unauthenticated);
    }

    // Round trip 2: the member and every role definition of the organization.
    let (member, roles) = store::members::get_with_roles(store, &key.organization_id, &key.user_id).await?;
    let member = member.ok_or(ApiError::Unauthenticated)?;
    if member.status != MemberStatus::Active {
        return Err(ApiError::Unauthenticated);
    }

    let granted = roles.permissions_of(&member.roles);
    let permissions = key
        .permissions
        .iter()
        .copied()
        .filter(|p| granted.contains(p))
        .collect();
    Ok(Caller {
        actor: Actor {
            org_id: key.organization_id,
            user_id: key.user_id,
            api_key_id: Some(key.id),
        },
        member,
        roles,
        permissions,
    })
}
