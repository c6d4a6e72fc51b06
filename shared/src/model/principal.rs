//! Who a command acts for: a principal, with its effective permissions, and the rules
//! that keep it from handing out more than it holds.
//!
//! Every command takes a `Principal` and applies its own authorization policy to it
//! (`principal.require(...)`, `require_can_manage`, `require_can_grant`): the policy lives
//! with the command, never with the door that called it, so REST, the daily job and the
//! doors to come (SCIM, xAPI) are held to the same rules.

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

/// What acts: a member through one of their API keys, or Raptor Comply itself as a
/// named job.
#[derive(Debug, Clone)]
pub enum Agent {
    /// A member acting through the key `actor.api_key_id` (none for bootstrap).
    Member(Box<Member>),
    Job(Job),
}

/// The jobs that change records on their own; each holds only the permissions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// The daily training job: marks assignments overdue and renews expiring completions.
    DailyTraining,
    /// The training requirements' engine: assigns what a requirement asks of a person.
    TrainingRequirements,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::DailyTraining => "daily-training",
            Job::TrainingRequirements => "training-requirements",
        }
    }

    fn permissions(self) -> PermissionSet {
        match self {
            Job::DailyTraining | Job::TrainingRequirements => [Permission::TrainingRead, Permission::TrainingWrite]
                .into_iter()
                .collect(),
        }
    }
}

/// Who a command acts for, with the permissions it may use.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who the audit trail names (a job acts as `UserId::system`).
    pub actor: Actor,
    pub agent: Agent,
    /// The organization's role definitions, as read when the principal was made.
    pub roles: RolesDocument,
    /// For a member: the key's scope intersected with what the member's roles grant, now.
    pub permissions: PermissionSet,
}

impl Principal {
    /// A member acting through a key (authentication) or without one (bootstrap).
    pub fn member(actor: Actor, member: Member, roles: RolesDocument, permissions: PermissionSet) -> Principal {
        Principal {
            actor,
            agent: Agent::Member(Box::new(member)),
            roles,
            permissions,
        }
    }

    /// Raptor Comply acting as `job` in one organization.
    pub fn job(org: &OrgId, job: Job) -> Principal {
        Principal {
            actor: Actor::system(org),
            agent: Agent::Job(job),
            roles: RolesDocument::default(),
            permissions: job.permissions(),
        }
    }

    /// The member acting, if a member acts; commands only a person may run refuse a job.
    pub fn acting_member(&self) -> ApiResult<&Member> {
        match &self.agent {
            Agent::Member(member) => Ok(member),
            Agent::Job(job) => Err(ApiError::forbidden_action(format!(
                "the {} job cannot do this; only a member can",
                job.name()
            ))),
        }
    }

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
        let held: PermissionSet = self.roles.permissions_of(&member.effective_roles(&self.roles));
        self.require_all(&held, "managing this user")
    }

    /// Roles may only be given if they exist and grant nothing the caller lacks.
    pub fn require_can_grant(&self, roles: &[RoleRef]) -> ApiResult<()> {
        self.roles.check_exist(roles)?;
        self.require_all(&self.roles.permissions_of(roles), "these roles")
    }
}
