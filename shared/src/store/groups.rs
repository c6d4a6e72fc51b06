//! Groups: `ORG#<org> / GRP#<grp>`, with `ORG#<org> / GRPNAME#<lowercase name>` markers
//! that make a name unique in the organization, GSI3 `ORG#<org>#GROUP_EXTID#<digest>` for
//! the directory's `externalId`, and a link per member (`store::links`,
//! `ORG#<org>#GROUP_MEMBER#<grp> / <usr>`) for a group's members.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI3, GSI3PK, GSI3SK};
use super::links::{self, Parent};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{GroupId, OrgId, UserId};
use crate::model::groups::{Group, name_key};
use crate::time::Timestamp;

fn group_key(org: &OrgId, id: &GroupId) -> Item {
    keys::key(keys::org_partition(org), keys::group_sort_key(id))
}

fn name_marker_key(org: &OrgId, name: &str) -> Item {
    keys::key(keys::org_partition(org), keys::group_name_sort_key(&name_key(name)))
}

fn group_item(group: &Group) -> ApiResult<Item> {
    let mut item = to_item(group)?;
    item.extend(group_key(&group.organization_id, &group.id));
    if let Some(external_id) = &group.external_id {
        item.insert(
            GSI3PK.into(),
            AttributeValue::S(keys::groups_with_external_id_partition(
                &group.organization_id,
                external_id,
            )),
        );
        item.insert(GSI3SK.into(), AttributeValue::S(group.id.to_string()));
    }
    Ok(item)
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Taken {
        message: format!("a group named `{name}` already exists in this organization"),
    }
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the group was changed by a concurrent request; retry")
}

fn put_name_marker(transaction: &mut Transaction, group: &Group) -> ApiResult<()> {
    let mut item = name_marker_key(&group.organization_id, &group.display_name);
    item.insert("groupId".into(), AttributeValue::S(group.id.to_string()));
    transaction.put_new(item, name_taken(&group.display_name))
}

fn delete_name_marker(transaction: &mut Transaction, group: &Group) -> ApiResult<()> {
    let mine = Condition::new("#group = :me")
        .name("#group", "groupId")
        .value(":me", AttributeValue::S(group.id.to_string()));
    transaction.delete(
        name_marker_key(&group.organization_id, &group.display_name),
        Some(mine),
        Some(changed_concurrently()),
    )
}

pub async fn get(store: &Store, org: &OrgId, id: &GroupId) -> ApiResult<Option<Group>> {
    store.get(group_key(org, id)).await
}

/// The group of `org` with this name (any case), by its marker and then the group.
pub async fn with_name(store: &Store, org: &OrgId, name: &str) -> ApiResult<Option<Group>> {
    let marker = store.get_many(vec![name_marker_key(org, name)]).await?;
    let Some(id) = marker
        .into_values()
        .next()
        .and_then(|item| keys::string_attribute(&item, "groupId"))
        .and_then(|id| GroupId::parse("groupId", &id).ok())
    else {
        return Ok(None);
    };
    get(store, org, &id).await
}

/// The groups of `org` with this `externalId` (GSI3, sparse; ids are not unique).
pub async fn with_external_id(store: &Store, org: &OrgId, external_id: &str) -> ApiResult<Vec<Group>> {
    let spec = QuerySpec::index(
        GSI3,
        GSI3PK,
        GSI3SK,
        keys::groups_with_external_id_partition(org, external_id),
        SortRange::BeginsWith(GroupId::PREFIX.into()),
    );
    let mut groups: Vec<Group> = Vec::new();
    for item in store.query_all(&spec).await? {
        let group: Group = from_item(item)?;
        // The index lags its table and the digest is of the text: keep exact matches.
        if group.external_id.as_deref() == Some(external_id) {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// The organization's active groups, by creation (ids are time-ordered).
pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Group>> {
    let filter = Filter::active();
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::GROUP_PREFIX.into()),
    )
    .with_filter(Some(filter));
    store.query_records(&spec, limit, after).await
}

pub fn put_new(transaction: &mut Transaction, group: &Group) -> ApiResult<()> {
    transaction.put_new(group_item(group)?, ApiError::internal("group id collision"))?;
    put_name_marker(transaction, group)
}

/// Replaces a group read at `before.version`, moving its name marker when the name
/// changed (case-insensitively).
pub fn put_updated(transaction: &mut Transaction, before: &Group, after: &Group) -> ApiResult<()> {
    transaction.put(
        group_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )?;
    if name_key(&before.display_name) != name_key(&after.display_name) {
        delete_name_marker(transaction, before)?;
        put_name_marker(transaction, after)?;
    }
    Ok(())
}

/// Removes a group read at `group.version`, and its name marker: a membership change
/// since counts a version, so the deletion then fails rather than miss a member.
pub fn delete(transaction: &mut Transaction, group: &Group) -> ApiResult<()> {
    transaction.delete(
        group_key(&group.organization_id, &group.id),
        Some(Condition::at_version(group.version)),
        Some(changed_concurrently()),
    )?;
    delete_name_marker(transaction, group)
}

/// Part of a membership change: the group is still active when it commits, and its
/// version and `updatedAt` count the change (an update, not a put of the version read, so
/// parallel membership changes of one group do not refuse each other).
pub fn count_membership_change(transaction: &mut Transaction, group: &Group, now: Timestamp) -> ApiResult<()> {
    let changes = Condition::new("SET #version = #version + :one, #updated = :now")
        .name("#version", "version")
        .name("#updated", "updatedAt")
        .value(":one", AttributeValue::N("1".into()))
        .value(":now", AttributeValue::S(now.to_string()));
    let active = Condition::new("#status = :active")
        .name("#status", "status")
        .value(":active", AttributeValue::S("active".into()));
    transaction.update(
        group_key(&group.organization_id, &group.id),
        changes,
        active,
        ApiError::conflict(format!("group `{}` was deleted meanwhile", group.id)),
    )
}

pub fn link_member(transaction: &mut Transaction, org: &OrgId, group: &GroupId, user: &UserId) -> ApiResult<()> {
    links::put(transaction, org, Parent::Group(group), user.as_str())
}

pub fn unlink_member(transaction: &mut Transaction, org: &OrgId, group: &GroupId, user: &UserId) -> ApiResult<()> {
    links::delete(transaction, org, Parent::Group(group), user.as_str())
}

/// One page of a group's members, by member id.
pub async fn members(
    store: &Store,
    org: &OrgId,
    group: &GroupId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<UserId>> {
    let page = links::children(store, org, Parent::Group(group), UserId::PREFIX, limit, after).await?;
    Ok(Page {
        items: page
            .items
            .iter()
            .map(|child| UserId::parse("member", child))
            .collect::<ApiResult<_>>()?,
        next: page.next,
    })
}

/// A group's first `limit` members, read strongly consistent.
pub async fn first_members(store: &Store, org: &OrgId, group: &GroupId, limit: usize) -> ApiResult<Vec<UserId>> {
    links::first_children(store, org, Parent::Group(group), UserId::PREFIX, limit)
        .await?
        .iter()
        .map(|child| UserId::parse("member", child))
        .collect()
}

/// Every member of a group, by member id (SCIM answers a group with its members).
pub async fn all_members(store: &Store, org: &OrgId, group: &GroupId) -> ApiResult<Vec<UserId>> {
    let mut members = Vec::new();
    let mut after = None;
    loop {
        let page = self::members(store, org, group, 1000, after.as_ref()).await?;
        members.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(members),
        }
    }
}

/// Whether the group has a member left (strongly consistent).
pub async fn has_members(store: &Store, org: &OrgId, group: &GroupId) -> ApiResult<bool> {
    links::any(store, org, Parent::Group(group)).await
}

#[cfg(test)]
mod tests {
    use crate::model::groups::GroupStatus;

    #[test]
    fn a_status_is_stored_as_the_conditions_read_it() {
        assert_eq!(serde_json::to_value(GroupStatus::Active).unwrap(), "active");
        assert_eq!(serde_json::to_value(GroupStatus::Deleting).unwrap(), "deleting");
    }
}
