//! Idempotency records (`docs/idempotency.md`): one item per key and caller,
//! `ORG#<org>#IDEMPOTENCY#<key id> / KEY#<Idempotency-Key>` for an API key and
//! `IDEMPOTENCY#REQUEST#<request hash> / KEY#<Idempotency-Key>` on the public route.
//!
//! A key is claimed with one conditional PutItem, so of two concurrent requests exactly one
//! runs; the refused one gets the record that refused it in the same round trip. The
//! response is written over the claim in the transaction of the change itself
//! (`put_completed`), or, for a request that changed nothing or made several changes,
//! afterwards (`complete`); either way on condition that the claim is still this
//! request's own.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::keys::{self, TTL_ATTRIBUTE};
use super::transaction::Condition;
use super::{Item, MAX_ITEM_BYTES, Store, Transaction, from_item, item_size, to_item};
use crate::error::{ApiError, ApiResult};
use crate::model::idempotency::{self, IdempotencyKey, IdempotencyRecord, IdempotencyScope};

/// What claiming a key found.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's until it completes or releases it.
    Claimed,
    /// Another record holds the key (to be judged: replay, in progress, another request).
    Held(IdempotencyRecord),
    /// The record that refused the claim was gone when read (released meanwhile).
    Vanished,
}

fn record_item(scope: &IdempotencyScope, key: &IdempotencyKey, record: &IdempotencyRecord) -> ApiResult<Item> {
    let mut item = to_item(record)?;
    item.extend(keys::idempotency_key(scope, key));
    Ok(item)
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Claims the key with `record` (in progress, made at its `created_at`): the key must be
/// unused, past its 24 h, or held by a claim of the same request whose lease ran out.
pub async fn claim(
    store: &Store,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
) -> ApiResult<Claim> {
    let now = record.created_at.millis();
    let result = store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(record_item(scope, key, record)?))
        .condition_expression(
            "attribute_not_exists(PK) OR #ttl <= :now_seconds \
             OR (#state = :in_progress AND #lease <= :now_millis AND #fingerprint = :fingerprint)",
        )
        .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#lease", "leaseExpiresAtMillis")
        .expression_attribute_names("#fingerprint", "fingerprint")
        .expression_attribute_values(":now_seconds", number(now.div_euclid(1000)))
        .expression_attribute_values(":now_millis", number(now))
        .expression_attribute_values(":in_progress", AttributeValue::S("in_progress".into()))
        .expression_attribute_values(
            ":fingerprint",
            AttributeValue::S(record.fingerprint.as_str().to_string()),
        )
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Claim::Claimed),
        Err(error) => match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                let holder = match refused.item() {
                    Some(item) => Some(from_item::<IdempotencyRecord>(item.clone())?),
                    // Not every DynamoDB returns the item that refused the claim: read it.
                    None => get(store, scope, key).await?,
                };
                Ok(match holder {
                    // The SDK re-sent this very claim after an attempt whose answer was
                    // lost: the key is ours already.
                    Some(holder) if holder.claim_id == record.claim_id => Claim::Claimed,
                    Some(holder) => Claim::Held(holder),
                    None => Claim::Vanished,
                })
            }
            _ => Err(error.into()),
        },
    }
}

/// A key's record, read consistently (tests read what a request stored).
pub async fn get(
    store: &Store,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
) -> ApiResult<Option<IdempotencyRecord>> {
    store.get(keys::idempotency_key(scope, key)).await
}

/// Writes the first response over this request's claim. `false`: the claim was no longer
/// ours (its lease ran out and a retry took the key), so nothing was written.
pub async fn complete(
    store: &Store,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
) -> ApiResult<bool> {
    let item = record_item(scope, key, record)?;
    if item_size(&item) > MAX_ITEM_BYTES {
        return Err(ApiError::internal(
            "the response is too large to keep for idempotent replays",
        ));
    }
    let result = store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", "claimId")
        .expression_attribute_values(":claim", AttributeValue::S(record.claim_id.clone()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if matches!(
                error.as_service_error(),
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// Adds the request's completed record to the transaction of its change, on condition
/// that the claim is still this request's (a claim whose lease ran out and was taken by a
/// retry cancels the change: the retry is running it). `false`: the record is too large to
/// keep, or the transaction has no room for it (items or bytes); nothing was added.
pub fn put_completed(
    transaction: &mut Transaction,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
) -> ApiResult<bool> {
    let item = record_item(scope, key, record)?;
    if !transaction.has_room_for(&item) {
        return Ok(false);
    }
    let still_ours = Condition::new("#claim = :claim")
        .name("#claim", "claimId")
        .value(":claim", AttributeValue::S(record.claim_id.clone()));
    transaction.put(item, Some(still_ours), Some(idempotency::in_progress()))?;
    Ok(true)
}

/// Gives the key back (the answer was a 5xx or a 429), if the claim is still ours.
pub async fn release(
    store: &Store,
    scope: &IdempotencyScope,
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
) -> ApiResult<()> {
    let result = store
        .client()
        .delete_item()
        .table_name(store.table())
        .set_key(Some(keys::idempotency_key(scope, key)))
        .condition_expression("#claim = :claim")
        .expression_attribute_names("#claim", "claimId")
        .expression_attribute_values(":claim", AttributeValue::S(record.claim_id.clone()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error)
            if matches!(
                error.as_service_error(),
                Some(DeleteItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
