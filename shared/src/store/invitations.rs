//! Invitations: `INV#<inv> / INV` (read by the id a token names), with GSI1
//! `ORG#<org>#INVITATIONS / <inv id>` to list an organization's, newest first; the
//! `ORG#<org> / INVITE_EMAIL#<email>` marker that allows one pending invitation per email;
//! and `ORG#<org> / INVITE_SENDS#<day>` counting the day's invitation emails.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::{Condition, CounterLimit};
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{InvitationId, OrgId};
use crate::model::invitations::{Invitation, InvitationFilter, InvitationStatus};
use crate::time::Timestamp;

fn invitation_item(invitation: &Invitation) -> ApiResult<Item> {
    let mut item = to_item(invitation)?;
    item.extend(keys::invitation_key(&invitation.id));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::org_invitations_partition(&invitation.organization_id)),
    );
    item.insert(GSI1SK.into(), AttributeValue::S(invitation.id.to_string()));
    // For filters: expiry as a number (timestamp text does not sort), email lowercased.
    item.insert(
        "expiresAtMillis".into(),
        AttributeValue::N(invitation.expires_at.millis().to_string()),
    );
    item.insert("emailLowercase".into(), AttributeValue::S(invitation.email.lowercase()));
    Ok(item)
}

fn pending_marker_key(org: &OrgId, email: &str) -> Item {
    keys::key(
        keys::org_partition(org),
        keys::pending_invitation_sort_key(&email.to_lowercase()),
    )
}

fn already_member(email: &str) -> ApiError {
    ApiError::conflict(format!(
        "`{email}` is already a member of this organization (active or suspended)"
    ))
}

fn already_invited(email: &str) -> ApiError {
    ApiError::conflict(format!(
        "`{email}` already has a pending invitation to this organization; resend or cancel it"
    ))
}

/// The answer once the day's invitation emails are used up.
pub fn emails_used_up(daily_cap: u64, now: Timestamp) -> ApiError {
    let seconds_left = 86_400 - (now.millis().rem_euclid(86_400_000) / 1000);
    ApiError::RateLimited {
        message: format!(
            "this organization has sent its {daily_cap} invitation emails for today (UTC); try again tomorrow"
        ),
        retry_after_seconds: u64::try_from(seconds_left).unwrap_or(86_400),
    }
}

fn emails_sent_key(org: &OrgId, now: Timestamp) -> Item {
    keys::key(
        keys::org_partition(org),
        keys::invitation_emails_sort_key(&now.date().to_string()),
    )
}

/// What the transaction's conditions will check, read first (one BatchGetItem) so that an
/// invitation about to be refused sends no email. The conditions still decide races.
pub async fn check_can_invite(
    store: &Store,
    invitation: &Invitation,
    now: Timestamp,
    daily_cap: Option<u64>,
) -> ApiResult<()> {
    let org = &invitation.organization_id;
    let partition = keys::org_partition(org);
    let member_marker = keys::email_sort_key(&invitation.email.lowercase());
    let pending_marker = keys::pending_invitation_sort_key(&invitation.email.lowercase());
    let counter = keys::invitation_emails_sort_key(&now.date().to_string());
    let found = store
        .get_many(vec![
            keys::key(partition.clone(), member_marker.clone()),
            keys::key(partition.clone(), pending_marker.clone()),
            emails_sent_key(org, now),
        ])
        .await?;
    if found.contains_key(&(partition.clone(), member_marker)) {
        return Err(already_member(invitation.email.as_str()));
    }
    if let Some(marker) = found.get(&(partition.clone(), pending_marker)) {
        let holder = keys::string_attribute(marker, "invitationId");
        let expires = match marker.get("expiresAtMillis") {
            Some(AttributeValue::N(number)) => number.parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        if holder.as_deref() != Some(invitation.id.as_str()) && expires > now.millis() {
            return Err(already_invited(invitation.email.as_str()));
        }
    }
    if let (Some(cap), Some(item)) = (daily_cap, found.get(&(partition, counter))) {
        let sent = match item.get("count") {
            Some(AttributeValue::N(number)) => number.parse::<u64>().unwrap_or(0),
            _ => 0,
        };
        if sent >= cap {
            return Err(emails_used_up(cap, now));
        }
    }
    Ok(())
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the invitation was changed by a concurrent request; retry")
}

pub async fn get(store: &Store, id: &InvitationId) -> ApiResult<Option<Invitation>> {
    store.get(keys::invitation_key(id)).await
}

/// A new pending invitation. Refused (409) while the email is an active or suspended
/// member (its email marker exists) or has another unexpired pending invitation.
pub fn put_new(transaction: &mut Transaction, invitation: &Invitation, now: Timestamp) -> ApiResult<()> {
    transaction.put_new(
        invitation_item(invitation)?,
        ApiError::internal("invitation id collision"),
    )?;
    transaction.condition_check(
        keys::key(
            keys::org_partition(&invitation.organization_id),
            keys::email_sort_key(&invitation.email.lowercase()),
        ),
        Condition::item_absent(),
        already_member(invitation.email.as_str()),
    )?;
    hold_pending_marker(transaction, invitation, now)
}

/// The marker names this invitation until it expires; another invitation may take it only
/// once the holder has expired (or was accepted or cancelled, which delete it).
fn hold_pending_marker(transaction: &mut Transaction, invitation: &Invitation, now: Timestamp) -> ApiResult<()> {
    let mut marker = pending_marker_key(&invitation.organization_id, invitation.email.as_str());
    marker.insert("invitationId".into(), AttributeValue::S(invitation.id.to_string()));
    marker.insert(
        "expiresAtMillis".into(),
        AttributeValue::N(invitation.expires_at.millis().to_string()),
    );
    let free = Condition::new("attribute_not_exists(PK) OR #holder = :me OR #expires <= :now")
        .name("#holder", "invitationId")
        .name("#expires", "expiresAtMillis")
        .value(":me", AttributeValue::S(invitation.id.to_string()))
        .value(":now", AttributeValue::N(now.millis().to_string()));
    transaction.put(marker, Some(free), Some(already_invited(invitation.email.as_str())))
}

/// Replaces an invitation read at `before.version`, keeping the pending marker true: held
/// (with the new expiry) while pending, released once accepted or cancelled.
pub fn put_updated(
    transaction: &mut Transaction,
    before: &Invitation,
    after: &Invitation,
    now: Timestamp,
) -> ApiResult<()> {
    transaction.put(
        invitation_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )?;
    match after.status {
        InvitationStatus::Pending => hold_pending_marker(transaction, after, now),
        // Only an unexpired pending invitation holds the marker for sure; an expired one's
        // marker may already name a newer invitation, so it is left to expire.
        _ if before.status_at(now) == InvitationStatus::Pending => {
            let mine = Condition::new("#holder = :me")
                .name("#holder", "invitationId")
                .value(":me", AttributeValue::S(before.id.to_string()));
            transaction.delete(
                pending_marker_key(&before.organization_id, before.email.as_str()),
                Some(mine),
                Some(changed_concurrently()),
            )
        }
        _ => Ok(()),
    }
}

/// Counts one invitation email against the organization's cap for the UTC day of `now`.
pub fn count_email(transaction: &mut Transaction, org: &OrgId, now: Timestamp, daily_cap: u64) -> ApiResult<()> {
    let cap = i64::try_from(daily_cap).unwrap_or(i64::MAX);
    transaction.add_to_counter(
        emails_sent_key(org, now),
        "count",
        1,
        Some((CounterLimit::AtMost(cap), emails_used_up(daily_cap, now))),
    )
}

/// Takes up to `wanted` of the day's invitation emails at once, for a batch: its
/// invitations are then written in parallel without each one rewriting this counter (items
/// that every concurrent transaction wrote would conflict on DynamoDB). Returns how many
/// were taken, fewer when the cap is near. A batch gives back what it did not send; if it
/// dies first, the day's count stays high, which only ever sends fewer emails.
pub async fn reserve_emails(store: &Store, org: &OrgId, now: Timestamp, daily_cap: u64, wanted: u64) -> ApiResult<u64> {
    // A day's count that does not exist yet passes any condition: never ask for more
    // than the cap in one go.
    let wanted = wanted.min(daily_cap);
    if wanted == 0 {
        return Ok(0);
    }
    match take_emails(store, org, now, daily_cap, wanted).await {
        Err(ApiError::RateLimited { .. }) => {}
        other => return other.map(|()| wanted),
    }
    let sort = keys::invitation_emails_sort_key(&now.date().to_string());
    let found = store.get_many(vec![emails_sent_key(org, now)]).await?;
    let sent = found
        .get(&(keys::org_partition(org), sort))
        .and_then(|item| match item.get("count") {
            Some(AttributeValue::N(number)) => number.parse::<u64>().ok(),
            _ => None,
        })
        .unwrap_or(0);
    let left = daily_cap.saturating_sub(sent).min(wanted);
    if left == 0 {
        return Ok(0);
    }
    match take_emails(store, org, now, daily_cap, left).await {
        // Another request took the rest in between: this batch sends nothing more.
        Err(ApiError::RateLimited { .. }) => Ok(0),
        other => other.map(|()| left),
    }
}

async fn take_emails(store: &Store, org: &OrgId, now: Timestamp, daily_cap: u64, count: u64) -> ApiResult<()> {
    let cap = i64::try_from(daily_cap).unwrap_or(i64::MAX);
    let mut transaction = Transaction::new();
    transaction.add_to_counter(
        emails_sent_key(org, now),
        "count",
        i64::try_from(count).unwrap_or(i64::MAX),
        Some((CounterLimit::AtMost(cap), emails_used_up(daily_cap, now))),
    )?;
    transaction.commit(store).await
}

/// Gives back emails a batch reserved and did not send.
pub async fn release_emails(store: &Store, org: &OrgId, now: Timestamp, unused: u64) -> ApiResult<()> {
    if unused == 0 {
        return Ok(());
    }
    let mut transaction = Transaction::new();
    transaction.add_to_counter(
        emails_sent_key(org, now),
        "count",
        -i64::try_from(unused).unwrap_or(i64::MAX),
        None,
    )?;
    transaction.commit(store).await
}

/// The organization's invitations, newest first, filtered by effective status and email.
pub async fn list(
    store: &Store,
    org: &OrgId,
    filter: &InvitationFilter,
    now: Timestamp,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<Invitation>> {
    let mut conditions = Vec::new();
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    if let Some(status) = filter.status {
        names.insert("#status".to_string(), "status".to_string());
        names.insert("#expires".to_string(), "expiresAtMillis".to_string());
        values.insert(":now".to_string(), AttributeValue::N(now.millis().to_string()));
        let stored = match status {
            InvitationStatus::Expired => InvitationStatus::Pending,
            other => other,
        };
        values.insert(":status".to_string(), AttributeValue::S(stored.as_str().into()));
        conditions.push(match status {
            InvitationStatus::Pending => "#status = :status AND #expires > :now",
            InvitationStatus::Expired => "#status = :status AND #expires <= :now",
            _ => "#status = :status",
        });
        if !matches!(status, InvitationStatus::Pending | InvitationStatus::Expired) {
            names.remove("#expires");
            values.remove(":now");
        }
    }
    if let Some(email) = &filter.email {
        names.insert("#email".to_string(), "emailLowercase".to_string());
        values.insert(":email".to_string(), AttributeValue::S(email.lowercase()));
        conditions.push("#email = :email");
    }
    let filter = (!conditions.is_empty()).then(|| Filter {
        expression: conditions.join(" AND "),
        names,
        values,
    });
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::org_invitations_partition(org),
        SortRange::BeginsWith(InvitationId::PREFIX.into()),
    )
    .with_filter(filter)
    .newest_first();
    store.query_records(&spec, limit, after).await
}
