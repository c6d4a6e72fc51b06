//! Groups: the commands that create, change and delete an organization's groups and
//! their members, and the reads of them. The REST door (`rest::groups`) and SCIM's
//! `/Groups` both call these.
//!
//! Authority: reading needs `users:read`; changing a group or who belongs to it needs
//! `users:write` and every permission the group's roles grant (before and after), so
//! nobody hands out through a group what they do not hold; adding or removing a member
//! also needs the right to manage that member (`Principal::require_can_manage`).

use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::events::Event;
use crate::model::events::groups::{GroupCreated, GroupDeleted, GroupUpdated};
use crate::model::events::users::UserGroupsChanged;
use crate::model::groups::{
    Group, GroupEdit, GroupStatus, MAX_GROUPS_GRANTING_ROLES, MEMBERS_PER_TRANSACTION, MembersEdit, NewGroup, edited,
    member_groups_after, new_group,
};
use crate::model::principal::Principal;
use crate::model::roles::{RoleRef, RolesDocument};
use crate::model::users::{Member, MemberStatus};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;

fn not_found(id: &GroupId) -> ApiError {
    ApiError::NotFoundId {
        resource: "group",
        id: id.to_string(),
    }
}

/// An active group of `org`: one being deleted is already gone.
async fn active_group(store: &Store, org: &OrgId, id: &GroupId) -> ApiResult<Group> {
    match store::groups::get(store, org, id).await? {
        Some(group) if group.status == GroupStatus::Active => Ok(group),
        _ => Err(not_found(id)),
    }
}

/// The group's current state when the caller names the version it read (`If-Match`).
fn check_version(group: &Group, expected: Option<u64>) -> ApiResult<()> {
    match expected {
        Some(version) if version != group.version => Err(ApiError::PreconditionFailed {
            message: format!(
                "the group is at version {}, not {version}; read it again",
                group.version
            ),
        }),
        _ => Ok(()),
    }
}

fn require_holds_grants(principal: &Principal, roles: &[RoleRef], what: &str) -> ApiResult<()> {
    principal.require_all(&principal.roles.permissions_of(roles), what)
}

pub async fn get_group(store: &Store, principal: &Principal, id: &GroupId) -> ApiResult<Group> {
    principal.require(Permission::UsersRead)?;
    active_group(store, principal.org(), id).await
}

pub async fn list_groups(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<Group>> {
    principal.require(Permission::UsersRead)?;
    let result = store::groups::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// How a directory finds a group: by its name (any case) or its `externalId`.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupLookup {
    DisplayName(String),
    ExternalId(String),
}

/// The active groups a lookup names (at most one by name), each by key or index.
pub async fn find_groups(store: &Store, principal: &Principal, lookup: &GroupLookup) -> ApiResult<Vec<Group>> {
    principal.require(Permission::UsersRead)?;
    let found = match lookup {
        GroupLookup::DisplayName(name) => store::groups::with_name(store, principal.org(), name)
            .await?
            .into_iter()
            .collect(),
        GroupLookup::ExternalId(id) => store::groups::with_external_id(store, principal.org(), id).await?,
    };
    Ok(found
        .into_iter()
        .filter(|group| group.status == GroupStatus::Active)
        .collect())
}

/// One page of a group's members, by id: its links, then the members in one BatchGetItem.
pub async fn list_group_members(
    store: &Store,
    principal: &Principal,
    id: &GroupId,
    page: &PageRequest,
) -> ApiResult<ListPage<Member>> {
    principal.require(Permission::UsersRead)?;
    active_group(store, principal.org(), id).await?;
    let result = store::groups::members(store, principal.org(), id, page.limit, page.after.as_ref()).await?;
    let mut members = store::members::get_many(store, principal.org(), &result.items).await?;
    members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(ListPage {
        data: members,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Every member of a group, by id (SCIM answers a group with its members).
pub async fn group_member_ids(store: &Store, principal: &Principal, group: &Group) -> ApiResult<Vec<UserId>> {
    principal.require(Permission::UsersRead)?;
    store::groups::all_members(store, principal.org(), &group.id).await
}

/// Writes the roles `group` grants into the roles document read as `document`, refusing
/// more granting groups than the document holds.
fn put_grants(
    transaction: &mut Transaction,
    org: &OrgId,
    document: &RolesDocument,
    group: &GroupId,
    roles: &[RoleRef],
) -> ApiResult<()> {
    let mut next = document.clone();
    next.set_grants(group, roles);
    if next.group_grants.len() > MAX_GROUPS_GRANTING_ROLES && !document.group_grants.contains_key(group.as_str()) {
        return Err(ApiError::conflict(format!(
            "at most {MAX_GROUPS_GRANTING_ROLES} groups of an organization may grant roles"
        )));
    }
    store::roles::check_document_fits(org, &next)?;
    store::roles::put_document(transaction, org, &next)
}

/// Creates a group (`users:write`, and only roles the caller could hold) with its first
/// members (at most `MEMBERS_PER_TRANSACTION`), all in one transaction.
pub async fn create_group(store: &Store, principal: &Principal, input: NewGroup) -> ApiResult<Group> {
    principal.require(Permission::UsersWrite)?;
    principal.require_can_grant(&input.roles)?;
    if input.members.len() > MEMBERS_PER_TRANSACTION {
        return Err(ApiError::validation(
            "members",
            format!("a group is created with at most {MEMBERS_PER_TRANSACTION} members; add more after"),
        ));
    }
    let members = members_to_change(store, principal, &input.members).await?;
    if let Some(deleted) = members.iter().find(|member| member.status == MemberStatus::Deleted) {
        return Err(deleted_cannot_join(deleted));
    }
    let now = store.clock().now();
    let group = new_group(principal.org(), &input, now);
    let mut transaction = Transaction::new();
    store::groups::put_new(&mut transaction, &group)?;
    if !group.roles.is_empty() {
        put_grants(
            &mut transaction,
            principal.org(),
            &principal.roles,
            &group.id,
            &group.roles,
        )?;
    }
    let event = Event::GroupCreated(GroupCreated::of(&group));
    store::audit::record(&mut transaction, &principal.actor, now, group.id.as_str(), &event)?;
    for member in &members {
        change_membership(&mut transaction, principal, member, &group.id, true, now)?;
    }
    transaction.commit(store).await?;
    Ok(group)
}

fn deleted_cannot_join(member: &Member) -> ApiError {
    ApiError::conflict(format!("user `{}` is deleted and cannot join a group", member.user_id))
}

/// Changes a group's name, `externalId` or roles. `expected_version` is the version the
/// caller read (`If-Match`), if it named one.
pub async fn update_group(
    store: &Store,
    principal: &Principal,
    id: &GroupId,
    edit: GroupEdit,
    expected_version: Option<u64>,
) -> ApiResult<Group> {
    principal.require(Permission::UsersWrite)?;
    let before = active_group(store, principal.org(), id).await?;
    check_version(&before, expected_version)?;
    require_holds_grants(principal, &before.roles, "changing this group")?;
    if let Some(roles) = &edit.roles {
        principal.require_can_grant(roles)?;
    }
    let now = store.clock().now();
    let Some(after) = edited(&before, &edit, now) else {
        return Ok(before);
    };
    let mut transaction = Transaction::new();
    store::groups::put_updated(&mut transaction, &before, &after)?;
    if before.roles != after.roles {
        put_grants(&mut transaction, principal.org(), &principal.roles, id, &after.roles)?;
    }
    let event = Event::GroupUpdated(GroupUpdated::between(&before, &after));
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(after)
}

/// What a membership change did.
#[derive(Debug, Clone)]
pub struct MembershipChange {
    /// The group after the change.
    pub group: Group,
    /// Those who joined (already members are left out).
    pub added: Vec<UserId>,
    /// Those who left (those who were not members are left out).
    pub removed: Vec<UserId>,
}

/// The members named, each existing and managed by the caller; a deleted one cannot join.
async fn members_to_change(store: &Store, principal: &Principal, ids: &[UserId]) -> ApiResult<Vec<Member>> {
    let found = store::members::get_many(store, principal.org(), ids).await?;
    let mut members = Vec::with_capacity(ids.len());
    for id in ids {
        let member = found
            .iter()
            .find(|member| &member.user_id == id)
            .ok_or_else(|| ApiError::NotFoundId {
                resource: "user",
                id: id.to_string(),
            })?;
        principal.require_can_manage(member)?;
        members.push(member.clone());
    }
    Ok(members)
}

/// Adds and removes members of a group. Adding a member already in it and removing one
/// not in it change nothing. Applied `MEMBERS_PER_TRANSACTION` members a transaction,
/// each member's record, link and event whole; a failure leaves the earlier batches made,
/// and the same request made again finishes the work. `expected_version`: as
/// `update_group`.
pub async fn change_members(
    store: &Store,
    principal: &Principal,
    id: &GroupId,
    edit: MembersEdit,
    expected_version: Option<u64>,
) -> ApiResult<MembershipChange> {
    principal.require(Permission::UsersWrite)?;
    let group = active_group(store, principal.org(), id).await?;
    check_version(&group, expected_version)?;
    require_holds_grants(principal, &group.roles, "changing who belongs to this group")?;
    let adding = members_to_change(store, principal, &edit.add).await?;
    let removing = members_to_change(store, principal, &edit.remove).await?;
    if let Some(deleted) = adding.iter().find(|member| member.status == MemberStatus::Deleted) {
        return Err(deleted_cannot_join(deleted));
    }
    let joining: Vec<&Member> = adding.iter().filter(|member| !member.group_ids.contains(id)).collect();
    let leaving: Vec<&Member> = removing.iter().filter(|member| member.group_ids.contains(id)).collect();
    apply_membership(store, principal, group, &joining, &leaving).await
}

/// Writes the joins and leaves, a batch a transaction, counting each on the group.
async fn apply_membership(
    store: &Store,
    principal: &Principal,
    mut group: Group,
    joining: &[&Member],
    leaving: &[&Member],
) -> ApiResult<MembershipChange> {
    let changes: Vec<(&Member, bool)> = joining
        .iter()
        .map(|member| (*member, true))
        .chain(leaving.iter().map(|member| (*member, false)))
        .collect();
    for batch in changes.chunks(MEMBERS_PER_TRANSACTION) {
        let now = store.clock().now();
        let mut transaction = Transaction::new();
        for (member, joins) in batch {
            change_membership(&mut transaction, principal, member, &group.id, *joins, now)?;
        }
        store::groups::count_membership_change(&mut transaction, &group, now)?;
        transaction.commit(store).await?;
        group.version += 1;
        group.updated_at = now;
    }
    Ok(MembershipChange {
        group,
        added: joining.iter().map(|member| member.user_id.clone()).collect(),
        removed: leaving.iter().map(|member| member.user_id.clone()).collect(),
    })
}

/// One member joining or leaving a group, in `transaction`: their record (at the version
/// read), the group's link, and their `user.groups_changed`.
fn change_membership(
    transaction: &mut Transaction,
    principal: &Principal,
    before: &Member,
    group: &GroupId,
    joins: bool,
    now: Timestamp,
) -> ApiResult<()> {
    let org = principal.org();
    let mut after = before.clone();
    after.group_ids = member_groups_after(&before.group_ids, group, joins)?;
    after.updated_at = now;
    after.version = before.version + 1;
    store::members::put_updated(transaction, before, &after)?;
    let (added, removed) = if joins {
        store::groups::link_member(transaction, org, group, &before.user_id)?;
        (vec![group.clone()], Vec::new())
    } else {
        store::groups::unlink_member(transaction, org, group, &before.user_id)?;
        (Vec::new(), vec![group.clone()])
    };
    let event = Event::UserGroupsChanged(UserGroupsChanged {
        added,
        removed,
        group_ids: after.group_ids.clone(),
    });
    store::audit::record(transaction, &principal.actor, now, before.user_id.as_str(), &event)
}

/// Deletes a group. One of at most `MEMBERS_PER_TRANSACTION` members goes in one
/// transaction with its members' leaving. A larger one first, in one transaction, stops
/// granting its roles and taking members (`deleting`), with its `group.deleted`; then its
/// members leave it, a batch a transaction; then it goes. A delete cut short is finished
/// by the same request made again; meanwhile the group grants nothing and is not found.
pub async fn delete_group(
    store: &Store,
    principal: &Principal,
    id: &GroupId,
    expected_version: Option<u64>,
) -> ApiResult<Group> {
    principal.require(Permission::UsersWrite)?;
    let org = principal.org();
    let Some(before) = store::groups::get(store, org, id).await? else {
        return Err(not_found(id));
    };
    check_version(&before, expected_version)?;
    require_holds_grants(principal, &before.roles, "deleting this group")?;
    let event = Event::GroupDeleted(GroupDeleted {
        display_name: before.display_name.clone(),
        roles: before.roles.clone(),
    });
    if before.status == GroupStatus::Active {
        let first = store::groups::first_members(store, org, id, MEMBERS_PER_TRANSACTION + 1).await?;
        if first.len() <= MEMBERS_PER_TRANSACTION {
            let members = store::members::get_many(store, org, &first).await?;
            let now = store.clock().now();
            let mut transaction = Transaction::new();
            store::groups::delete(&mut transaction, &before)?;
            if principal.roles.group_grants.contains_key(id.as_str()) {
                put_grants(&mut transaction, org, &principal.roles, id, &[])?;
            }
            store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
            leave(&mut transaction, principal, id, &first, &members, now)?;
            transaction.commit(store).await?;
            return Ok(before);
        }
    }
    let mut deleting = before.clone();
    if before.status == GroupStatus::Active {
        let now = store.clock().now();
        deleting.status = GroupStatus::Deleting;
        deleting.updated_at = now;
        deleting.version = before.version + 1;
        let mut transaction = Transaction::new();
        store::groups::put_updated(&mut transaction, &before, &deleting)?;
        if principal.roles.group_grants.contains_key(id.as_str()) {
            put_grants(&mut transaction, org, &principal.roles, id, &[])?;
        }
        store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
        transaction.commit(store).await?;
    }
    // No member can join a deleting group: the pages are read once through, then a
    // strongly consistent look makes sure no link is left.
    let mut after = None;
    loop {
        let page = store::groups::members(store, org, id, MEMBERS_PER_TRANSACTION, after.as_ref()).await?;
        let members = store::members::get_many(store, org, &page.items).await?;
        let now = store.clock().now();
        let mut transaction = Transaction::new();
        leave(&mut transaction, principal, id, &page.items, &members, now)?;
        if !transaction.is_empty() {
            transaction.commit(store).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None if store::groups::has_members(store, org, id).await? => after = None,
            None => break,
        }
    }
    let mut transaction = Transaction::new();
    store::groups::delete(&mut transaction, &deleting)?;
    transaction.commit(store).await?;
    Ok(before)
}

/// The linked members `users` (read as `members`) leaving a group that is going.
fn leave(
    transaction: &mut Transaction,
    principal: &Principal,
    group: &GroupId,
    users: &[UserId],
    members: &[Member],
    now: Timestamp,
) -> ApiResult<()> {
    for user in users {
        match members.iter().find(|member| &member.user_id == user) {
            Some(member) if member.group_ids.contains(group) => {
                change_membership(transaction, principal, member, group, false, now)?;
            }
            // A link whose member no longer lists the group: only the link goes.
            _ => store::groups::unlink_member(transaction, principal.org(), group, user)?,
        }
    }
    Ok(())
}
