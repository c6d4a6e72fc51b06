//! Who is calling: an authenticated request's identity and effective permissions, and the
//! rules that keep a caller from handing out more than it holds.

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::model::roles::{RoleRef, RolesDocument};
use crate::model::users::Member;
use crate::permissions::{Permission, PermissionSet};

/// Who made a change, as the audit trail records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub org_id: OrgId,
    pub user_id: UserId,
    /// `None` for changes made outside the API (bootstrap).
    pub api_key_id: Option<ApiKeyId>,
}

impl Actor {
    /// Raptor Comply itself, acting in one organization (`UserId::system`).
    pub fn system(org: &OrgId) -> Actor {
        Actor {
            org_id: org.clone(),
            user_id: UserId::system(),
            api_key_id: None,
        }
    }
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

    /// Members are managed only by callers who hold every permission the member holds, so
    /// nobody can demote, suspend, delete, or mint or revoke keys for someone more
    /// privileged than themselves.
    pub fn require_can_manage(&self, member: &Member) -> ApiResult<()> {
        let held: PermissionSet = self.roles.permissions_of(&member.roles);
        self.require_all(&held, "managing this user")
    }

    /// Roles may only be given if they exist and grant nothing the caller lacks.
    pub fn require_can_grant(&self, roles: &[RoleRef]) -> ApiResult<()> {
        self.roles.check_exist(roles)?;
        self.require_all(&self.roles.permissions_of(roles), "these roles")
    }
}
