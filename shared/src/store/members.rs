//! Members: `ORG#<org> / MEMBER#<usr>`, with GSI1 `USER#<usr> / ORG#<org>` for one
//! account's organizations, and `ORG#<org> / EMAIL#<lowercase email>` markers that make
//! an email unique within an organization through a transactional condition.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::{Condition, CounterLimit};
use super::{Page, Store, Transaction, from_item, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, UserId};
use crate::model::account_linking::AccountWithEmail;
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
    item.insert(
        GSI2PK.into(),
        AttributeValue::S(keys::account_email_partition(&member.email.lowercase())),
    );
    item.insert(
        GSI2SK.into(),
        AttributeValue::S(format!(
            "{}#{}",
            member.user_id,
            keys::org_partition(&member.organization_id)
        )),
    );
    if let Some(external_id) = &member.external_id {
        item.insert(
            GSI3PK.into(),
            AttributeValue::S(keys::members_with_external_id_partition(
                &member.organization_id,
                external_id,
            )),
        );
        item.insert(GSI3SK.into(), AttributeValue::S(member.user_id.to_string()));
    }
    Ok(item)
}

fn email_taken(email: &str) -> ApiError {
    ApiError::Taken {
        message: format!("a user with the email `{email}` already exists in this organization"),
    }
}

fn put_email_marker(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    let mut item = email_key(&member.organization_id, member.email.as_str());
    item.insert("userId".into(), AttributeValue::S(member.user_id.to_string()));
    transaction.put_new(item, email_taken(member.email.as_str()))
}

fn delete_email_marker(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    let owned_by_member = Condition::new("#user = :user")
        .name("#user", "userId")
        .value(":user", AttributeValue::S(member.user_id.to_string()));
    transaction.delete(
        email_key(&member.organization_id, member.email.as_str()),
        Some(owned_by_member),
        Some(ApiError::conflict("the user's email changed concurrently; retry")),
    )
}

pub async fn get(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<Option<Member>> {
    store.get(member_key(org, user)).await
}

/// A member and the organization's roles document (which says what their groups grant),
/// in one BatchGetItem.
pub async fn get_with_roles(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<(Option<Member>, RolesDocument)> {
    let records = get_for_authentication(store, org, user, None).await?;
    Ok((records.member, records.roles))
}

/// What authentication reads in its second round trip.
pub struct AuthenticationRecords {
    pub member: Option<Member>,
    pub roles: RolesDocument,
    /// The member who minted the key, when it is someone else.
    pub creator: Option<Member>,
}

/// Part of a transaction that needs `user` to be an active member when it commits.
pub fn check_active(transaction: &mut Transaction, org: &OrgId, user: &UserId, on_failure: ApiError) -> ApiResult<()> {
    let condition = Condition::new("#status = :active")
        .name("#status", "status")
        .value(":active", AttributeValue::S("active".into()));
    transaction.condition_check(member_key(org, user), condition, on_failure)
}

/// Part of a transaction that relied on `member` as read (its status and roles): it
/// commits only if the member record is still at that version.
pub fn check_unchanged(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    transaction.condition_check(
        member_key(&member.organization_id, &member.user_id),
        Condition::at_version(member.version),
        ApiError::conflict("a member this change relies on changed at the same time; retry"),
    )
}

/// The key's member, the organization's roles document and, for a key minted by another
/// member, that member too: one BatchGetItem (authorization).
pub async fn get_for_authentication(
    store: &Store,
    org: &OrgId,
    user: &UserId,
    creator: Option<&UserId>,
) -> ApiResult<AuthenticationRecords> {
    let mut wanted = vec![member_key(org, user), super::roles::document_key(org)];
    wanted.extend(creator.map(|creator| member_key(org, creator)));
    let mut found = store.get_many(wanted).await?;
    let partition = keys::org_partition(org);
    let mut take_member = |user: &UserId| -> ApiResult<Option<Member>> {
        found
            .remove(&(partition.clone(), keys::member_sort_key(user)))
            .map(from_item)
            .transpose()
    };
    let member = take_member(user)?;
    let creator = creator.map(&mut take_member).transpose()?.flatten();
    let roles = found
        .remove(&(partition.clone(), keys::ROLES_DOCUMENT.to_string()))
        .map(from_item)
        .transpose()?
        .unwrap_or_default();
    Ok(AuthenticationRecords { member, roles, creator })
}

/// Several members of one organization by id (BatchGetItem, 100 keys per call); those
/// that do not exist are left out.
pub async fn get_many(store: &Store, org: &OrgId, users: &[UserId]) -> ApiResult<Vec<Member>> {
    let mut unique: Vec<&UserId> = users.iter().collect();
    unique.sort();
    unique.dedup();
    let mut members = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(100) {
        let found = store
            .get_many(chunk.iter().map(|user| member_key(org, user)).collect())
            .await?;
        for item in found.into_values() {
            members.push(from_item(item)?);
        }
    }
    Ok(members)
}

/// Writes members and their email markers as they are, 25 items a BatchWriteItem: a bulk
/// load (the evidence benchmark seeds 10,000 this way). It checks no email and writes no
/// audit event, so it is never an API path; an active admin is refused, since the admin
/// count would not follow.
pub async fn import_batch(store: &Store, members: &[Member]) -> ApiResult<()> {
    let mut writes = Vec::with_capacity(members.len() * 2);
    for member in members {
        if member.is_active_admin() {
            return Err(ApiError::validation(
                "members",
                "an active admin is not imported: the admin count would not follow",
            ));
        }
        writes.push(member_item(member)?);
        let mut marker = email_key(&member.organization_id, member.email.as_str());
        marker.insert("userId".into(), AttributeValue::S(member.user_id.to_string()));
        writes.push(marker);
    }
    super::put_all(store, writes).await
}

/// A new member and its email marker; the email must be free in the organization.
pub fn put_new(transaction: &mut Transaction, member: &Member) -> ApiResult<()> {
    transaction.put_new(
        member_item(member)?,
        ApiError::conflict("this user is already a member of the organization"),
    )?;
    put_email_marker(transaction, member)?;
    count_admins(transaction, &member.organization_id, false, member.is_active_admin())
}

/// Keeps `ORG#<org> / ADMINS` equal to the number of active admins, in the transaction
/// of every member write; a write that would take it to zero fails its condition, so
/// two concurrent demotions of the last two admins cannot both commit.
fn count_admins(transaction: &mut Transaction, org: &OrgId, was_admin: bool, is_admin: bool) -> ApiResult<()> {
    let key = keys::key(keys::org_partition(org), keys::ADMIN_COUNT);
    match (was_admin, is_admin) {
        (false, true) => transaction.add_to_counter(key, "count", 1, None),
        (true, false) => transaction.add_to_counter(
            key,
            "count",
            -1,
            Some((
                CounterLimit::AtLeast(1),
                ApiError::conflict(
                    "this change would leave the organization with no active admin; give another member the admin role first",
                ),
            )),
        ),
        _ => Ok(()),
    }
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
    let email_moved = before.email.lowercase() != after.email.lowercase();
    if was_holding && (!holds || email_moved) {
        delete_email_marker(transaction, before)?;
    }
    if holds && (!was_holding || email_moved) {
        put_email_marker(transaction, after)?;
    }
    count_admins(
        transaction,
        &after.organization_id,
        before.is_active_admin(),
        after.is_active_admin(),
    )
}

pub async fn list(
    store: &Store,
    org: &OrgId,
    filter: &UserFilter,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Member>> {
    store.query_records(&members_query(org, filter), limit, after).await
}

/// The organization's member items that `filter` selects, in id order.
fn members_query(org: &OrgId, filter: &UserFilter) -> QuerySpec {
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
        // Held directly, or through a group that grants it: short placeholders keep the
        // most groups (`MAX_GROUPS_GRANTING_ROLES`) within the expression's 4 KB.
        let mut held = vec!["contains(#roles, :role)".to_string()];
        if !filter.role_groups.is_empty() {
            names.insert("#g".into(), "groupIds".into());
        }
        for (index, group) in filter.role_groups.iter().enumerate() {
            values.insert(format!(":g{index}"), AttributeValue::S(group.to_string()));
            held.push(format!("contains(#g,:g{index})"));
        }
        expression.push_str(&format!(" AND ({})", held.join(" OR ")));
    }
    QuerySpec::table(
        keys::org_partition(org),
        SortRange::BeginsWith(keys::MEMBER_PREFIX.to_string()),
    )
    .with_filter(Some(Filter {
        expression,
        names,
        values,
    }))
}

/// How many members the filter's statuses select (its role is not applied): a
/// `Select COUNT` through the organization's member items, page after page.
pub async fn count(store: &Store, org: &OrgId, filter: &UserFilter) -> ApiResult<u64> {
    let statuses = UserFilter {
        role: None,
        ..filter.clone()
    };
    store.count(&members_query(org, &statuses)).await
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

/// The member of `org` whose email this is, by its uniqueness marker (one GetItem).
pub async fn user_with_email(store: &Store, org: &OrgId, email: &str) -> ApiResult<Option<UserId>> {
    let marker = store.get_many(vec![email_key(org, email)]).await?;
    Ok(marker
        .into_values()
        .next()
        .and_then(|item| keys::string_attribute(&item, "userId"))
        .and_then(|user| UserId::parse("userId", &user).ok()))
}

/// The members of `org` with this `externalId` (GSI3, sparse; ids are not unique).
pub async fn with_external_id(store: &Store, org: &OrgId, external_id: &str) -> ApiResult<Vec<Member>> {
    let spec = QuerySpec::index(
        GSI3,
        GSI3PK,
        GSI3SK,
        keys::members_with_external_id_partition(org, external_id),
        SortRange::BeginsWith(UserId::PREFIX.into()),
    );
    let mut members: Vec<Member> = Vec::new();
    for item in store.query_all(&spec).await? {
        let member: Member = from_item(item)?;
        // The index lags its table and the digest is of the text: keep exact matches.
        if member.external_id.as_deref() == Some(external_id) {
            members.push(member);
        }
    }
    Ok(members)
}

/// Every account that holds `email` through a membership in any organization, oldest
/// first, and whether it is already a member of `org` (a deleted membership counts: it
/// stays with its history). GSI2, a few items. Which one a new membership may join is
/// `model::account_linking`'s decision, never this query's.
pub async fn accounts_with_email(store: &Store, email: &str, org: &OrgId) -> ApiResult<Vec<AccountWithEmail>> {
    let spec = QuerySpec::index(
        GSI2,
        GSI2PK,
        GSI2SK,
        keys::account_email_partition(&email.to_lowercase()),
        SortRange::BeginsWith(UserId::PREFIX.into()),
    );
    let here = format!("#{}", keys::org_partition(org));
    let mut accounts: Vec<AccountWithEmail> = Vec::new();
    for item in store.query_all(&spec).await? {
        let Some(sort) = keys::string_attribute(&item, GSI2SK) else {
            continue;
        };
        let Some((user, _)) = sort.split_once('#') else {
            continue;
        };
        let Ok(user) = UserId::parse("userId", user) else {
            continue;
        };
        let member_here = sort.ends_with(&here);
        match accounts.iter_mut().find(|known| known.user_id == user) {
            Some(known) => known.member_here |= member_here,
            None => accounts.push(AccountWithEmail {
                user_id: user,
                member_here,
            }),
        }
    }
    Ok(accounts)
}
