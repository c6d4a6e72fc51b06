//! Members: `ORG#<org> / MEMBER#<usr>`, with GSI1 `USER#<usr> / ORG#<org>` for one
//! account's organizations, and `ORG#<org> / EMAIL#<lowercase email>` markers that make
//! an email unique within an organization through a transactional condition.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, UserId};
use crate::model::roles::RolesDocument;
use crate::model::users::{Member, MemberStatus, UserFilter};

fn member_key(org: &OrgId, user: &UserId) -> super::Item {
    keys::key(keys::org_partition(org), keys::member_sort_key(user))
}

fn email_key(org: &OrgId, email: &str) -> super::Item {
    keys::key(keys::org_partition(org), keys::email_sort_key(&email.to_lowercase()))
}

fn member_item(member: &Member) -> ApiResult<super::Item> {
    let mut item = to_item(member)?;
    item.extend(member_key(&member.organization_id, &member.user_id));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::user_memberships_partition(&member.user_id)),
    );
    item.insert(
        GSI1SK.into(),
        AttributeValue::S(keys::org_partition(&member.organization_id)),
    );
    Ok(item)
}

fn email_taken(email: &str) -> ApiError {
    ApiError::conflict(format!(
        "a user with the email `{email}` already exists in this organization"
    ))
}

fn put_email_marker(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    let mut item = email_key(&member.organization_id, &member.email);
    item.insert("userId".into(), AttributeValue::S(member.user_id.to_string()));
    transaction.put_new(item, email_taken(&member.email))
}

fn delete_email_marker(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    let owned_by_member = Condition::new("#user = :user")
        .name("#user", "userId")
        .value(":user", AttributeValue::S(member.user_id.to_string()));
    transaction.delete(
        email_key(&member.organization_id, &member.email),
        Some(owned_by_member),
        Some(ApiError::conflict("the user's email changed concurrently; retry")),
    )
}

pub async fn get(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<Option<Member>> {
    store.get(member_key(org, user)).await
}

/// The member and the organization's roles document in one BatchGetItem (authorization).
pub async fn get_with_roles(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<(Option<Member>, RolesDocument)> {
    let member_key = member_key(org, user);
    let roles_key = super::roles::document_key(org);
    let mut found = store.get_many(vec![member_key, roles_key]).await?;
    let partition = keys::org_partition(org);
    let member = found
        .remove(&(partition.clone(), keys::member_sort_key(user)))
        .map(from_item)
        .transpose()?;
    let roles = found
        .remove(&(partition, keys::ROLES_DOCUMENT.to_string()))
        .map(from_item)
        .transpose()?
        .unwrap_or_default();
    Ok((member, roles))
}

/// A new member and its email marker; the email must be free in the organization.
pub fn put_new(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    transaction.put_new(
        member_item(member)?,
        ApiError::conflict("this user is already a member of the organization"),
    )?;
    put_email_marker(transaction, member)
}

/// Replaces a member read at `before.version`, moving the email marker if the email
/// changed and releasing it when the member is deleted.
pub fn put_updated(transaction: &mut Transaction, before: &Member, after: &Member) -> ApiResult<()> {
    transaction.put(
        member_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(ApiError::conflict(
            "the user was changed by a concurrent request; retry",
        )),
    )?;
    let was_holding = before.status != MemberStatus::Deleted;
    let holds = after.status != MemberStatus::Deleted;
    let email_moved = before.email.to_lowercase() != after.email.to_lowercase();
    if was_holding && (!holds || email_moved) {
        delete_email_marker(transaction, before)?;
    }
    if holds && (!was_holding || email_moved) {
        put_email_marker(transaction, after)?;
    }
    Ok(())
}

pub async fn list(
    store: &Store,
    org: &OrgId,
    filter: &UserFilter,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Member>> {
    let mut names = std::collections::HashMap::from([("#status".to_string(), "status".to_string())]);
    let mut values = std::collections::HashMap::new();
    let mut status_placeholders = Vec::new();
    for (index, status) in filter.statuses.iter().enumerate() {
        let placeholder = format!(":status{index}");
        values.insert(placeholder.clone(), AttributeValue::S(status.as_str().to_string()));
        status_placeholders.push(placeholder);
    }
    let mut expression = format!("#status IN ({})", status_placeholders.join(", "));
    if let Some(role) = &filter.role {
        names.insert("#roles".into(), "roles".into());
        values.insert(":role".into(), AttributeValue::S(role.to_string()));
        expression.push_str(" AND contains(#roles, :role)");
    }
    let spec = QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::MEMBER_PREFIX.to_string()),
    )
    .with_filter(Some(Filter {
        expression,
        names,
        values,
    }));
    store.query_records(&spec, limit, after).await
}

/// Every membership of one account, across organizations (GSI1).
pub async fn memberships_of(store: &Store, user: &UserId) -> ApiResult<Vec<Member>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::user_memberships_partition(user),
        SortRange::BeginsWith("ORG#".into()),
    );
    store.query_all(&spec).await?.into_iter().map(from_item).collect()
}
