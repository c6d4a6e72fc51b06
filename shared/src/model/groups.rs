//! Groups: named sets of an organization's members that carry roles (seed 003's user
//! groups; SCIM's Group). A member's effective roles are their own roles plus the roles of
//! every group they belong to (`Member::effective_roles`).
//!
//! Who belongs to a group is held twice, each for its reader: the member record lists its
//! `group_ids` (authentication reads the member, so a member's groups cost no extra round
//! trip), and a link per member under the group (`store::groups`) lists a group's members.
//! The roles a group grants are held on the group and in the organization's roles document
//! (`RolesDocument::group_grants`), which authentication already reads; both are written in
//! one transaction.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::roles::RoleRef;
use crate::time::Timestamp;
use crate::validation;

pub const MAX_GROUP_NAME_LENGTH: usize = 200;
/// Groups one member may belong to: the member record lists them.
pub const MAX_GROUPS_PER_MEMBER: usize = 50;
/// Roles one group may grant, as many as one member may hold.
pub const MAX_ROLES_PER_GROUP: usize = crate::model::users::MAX_ROLES_PER_MEMBER;
/// Groups of one organization that grant roles: their grants share the roles document.
pub const MAX_GROUPS_GRANTING_ROLES: usize = 200;
/// Members added or removed in one request.
pub const MAX_MEMBERS_PER_CHANGE: usize = 100;
/// Members changed in one transaction: each is its record, its link and its event (three
/// items), with the group itself, within DynamoDB's 100 items.
pub const MEMBERS_PER_TRANSACTION: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupStatus {
    Active,
    /// Its deletion has begun: it grants nothing and takes no members; its members are
    /// being removed, then the item goes (a retried delete finishes the work).
    Deleting,
}

/// A group as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: GroupId,
    pub organization_id: OrgId,
    pub display_name: String,
    /// The group's id in the customer's identity directory.
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: GroupStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// A new group's values, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGroup {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Each once, at most `MAX_ROLES_PER_GROUP` (`group_roles`).
    pub roles: Vec<RoleRef>,
    /// Members to add with the group (SCIM creates a group with its members).
    pub members: Vec<UserId>,
}

/// The fields a group update changes (absent: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupEdit {
    pub display_name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub roles: Option<Vec<RoleRef>>,
}

/// Members a command adds to or removes from a group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MembersEdit {
    pub add: Vec<UserId>,
    pub remove: Vec<UserId>,
}

impl MembersEdit {
    /// Each id once, an id both added and removed refused, at most
    /// `MAX_MEMBERS_PER_CHANGE` in all.
    pub fn new(add: Vec<UserId>, remove: Vec<UserId>) -> ApiResult<MembersEdit> {
        let add = unique(add);
        let remove = unique(remove);
        if let Some(both) = add.iter().find(|id| remove.contains(id)) {
            return Err(ApiError::validation(
                "members",
                format!("`{both}` is both added to and removed from the group"),
            ));
        }
        if add.len() + remove.len() > MAX_MEMBERS_PER_CHANGE {
            return Err(ApiError::validation(
                "members",
                format!("at most {MAX_MEMBERS_PER_CHANGE} members may be added or removed in one request"),
            ));
        }
        Ok(MembersEdit { add, remove })
    }

    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

fn unique(ids: Vec<UserId>) -> Vec<UserId> {
    let mut kept: Vec<UserId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !kept.contains(&id) {
            kept.push(id);
        }
    }
    kept
}

pub fn group_name(name: &str) -> ApiResult<String> {
    validation::one_line_text("displayName", name, MAX_GROUP_NAME_LENGTH)
}

pub fn external_id(value: Option<&str>) -> ApiResult<Option<String>> {
    validation::optional_one_line_text("externalId", value, MAX_GROUP_NAME_LENGTH)
}

/// At most `MAX_ROLES_PER_GROUP` roles, each once, in the order given.
pub fn group_roles(roles: Vec<RoleRef>) -> ApiResult<Vec<RoleRef>> {
    let mut unique: Vec<RoleRef> = Vec::with_capacity(roles.len());
    for role in roles {
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    if unique.len() > MAX_ROLES_PER_GROUP {
        return Err(ApiError::validation(
            "roles",
            format!("a group can grant at most {MAX_ROLES_PER_GROUP} roles"),
        ));
    }
    Ok(unique)
}

/// The key that makes a group's name unique in the organization, ignoring case.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub fn new_group(org: &OrgId, input: &NewGroup, now: Timestamp) -> Group {
    Group {
        id: GroupId::new(),
        organization_id: org.clone(),
        display_name: input.display_name.clone(),
        external_id: input.external_id.clone(),
        roles: input.roles.clone(),
        status: GroupStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The group after `edit`, or `None` when the edit changes nothing.
pub fn edited(before: &Group, edit: &GroupEdit, now: Timestamp) -> Option<Group> {
    let mut after = before.clone();
    if let Some(name) = &edit.display_name {
        after.display_name = name.clone();
    }
    if let Some(external_id) = &edit.external_id {
        after.external_id = external_id.clone();
    }
    if let Some(roles) = &edit.roles {
        after.roles = roles.clone();
    }
    if after == *before {
        return None;
    }
    after.updated_at = now;
    after.version = before.version + 1;
    Some(after)
}

/// The groups a member belongs to after an edit: `group` added or taken away, the others
/// kept in order. Adding past `MAX_GROUPS_PER_MEMBER` is refused.
pub fn member_groups_after(held: &[GroupId], group: &GroupId, member_of: bool) -> ApiResult<Vec<GroupId>> {
    let mut after: Vec<GroupId> = held.iter().filter(|id| *id != group).cloned().collect();
    if member_of {
        if after.len() >= MAX_GROUPS_PER_MEMBER {
            return Err(ApiError::conflict(format!(
                "a member may belong to at most {MAX_GROUPS_PER_MEMBER} groups"
            )));
        }
        after.push(group.clone());
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::roles::SystemRole;

    #[test]
    fn a_members_edit_is_each_id_once_and_refuses_one_both_added_and_removed() {
        let (a, b) = (UserId::new(), UserId::new());
        let edit = MembersEdit::new(vec![a.clone(), a.clone(), b.clone()], vec![]).unwrap();
        assert_eq!(edit.add, vec![a.clone(), b.clone()]);
        assert!(MembersEdit::new(vec![a.clone()], vec![a.clone()]).is_err());
        let many: Vec<UserId> = (0..=MAX_MEMBERS_PER_CHANGE).map(|_| UserId::new()).collect();
        assert!(MembersEdit::new(many, vec![]).is_err());
    }

    #[test]
    fn an_edit_that_changes_nothing_is_none_and_one_that_does_counts_a_version() {
        let now = Timestamp::now();
        let input = NewGroup {
            display_name: "Operators".into(),
            external_id: None,
            roles: vec![RoleRef::System(SystemRole::Viewer)],
            members: vec![],
        };
        let group = new_group(&OrgId::new(), &input, now);
        let same = GroupEdit {
            display_name: Some("Operators".into()),
            ..GroupEdit::default()
        };
        assert!(edited(&group, &same, now).is_none());
        let renamed = edited(
            &group,
            &GroupEdit {
                roles: Some(vec![]),
                ..GroupEdit::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(renamed.version, 2);
        assert!(renamed.roles.is_empty());
    }

    #[test]
    fn a_member_joins_once_and_never_past_the_limit() {
        let group = GroupId::new();
        let held = vec![GroupId::new()];
        let joined = member_groups_after(&held, &group, true).unwrap();
        assert_eq!(joined.len(), 2);
        assert_eq!(member_groups_after(&joined, &group, true).unwrap(), joined);
        assert_eq!(member_groups_after(&joined, &group, false).unwrap(), held);
        let full: Vec<GroupId> = (0..MAX_GROUPS_PER_MEMBER).map(|_| GroupId::new()).collect();
        assert!(member_groups_after(&full, &group, true).is_err());
        assert!(member_groups_after(&full, &full[0], true).is_ok());
    }
}
