//! Authentication and authorization: an `X-API-Key` becomes a `Caller` with the
//! permissions it may use, in at most two DynamoDB round trips (the key by id, then the
//! member and the organization's roles document together). See `docs/authorization.md`.

use crate::api_keys::{self, ApiKey};
use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::permissions::{Permission, PermissionSet};
use crate::roles::RolesDocument;
use crate::store::{self, Store};
use crate::users::{Member, MemberStatus};

/// Who made a change, as the audit trail records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub org_id: OrgId,
    pub user_id: UserId,
    /// `None` for changes made outside the API (bootstrap).
    pub api_key_id: Option<ApiKeyId>,
}

/// An authenticated request's identity and effective permissions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub member: Member,
    pub roles: RolesDocument,
    /// The key's scope intersected with what the member's roles grant, now.
    pub permissions: PermissionSet,
}

impl Caller {
    pub fn org(&self) -> &OrgId {
        &self.actor.org_id
    }

    pub fn user(&self) -> &UserId {
        &self.actor.user_id
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { permission })
        }
    }

    /// No escalation: a caller can only hand out (through roles, keys or role changes)
    /// permissions it holds itself.
    pub fn require_all(&self, permissions: &PermissionSet, what: &str) -> ApiResult<()> {
        let missing: Vec<&str> = permissions.difference(&self.permissions).map(|p| p.as_str()).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::forbidden_action(format!(
                "{what} would grant permissions you do not hold: {}",
                missing.join(", ")
            )))
        }
    }
}

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
