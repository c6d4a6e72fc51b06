//! One TransactWriteItems: the change and its audit event commit together or not at all.
//!
//! Each write carries the error its failed condition means, decided here in the store
//! (a taken email is a `Conflict`, a missing item a `NotFound`), never in a handler.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::{Item, MAX_ITEM_BYTES, Store, item_size};
use crate::error::{ApiError, ApiResult};

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limit on the aggregate size of the items one transaction writes.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Condition {
    pub fn new(expression: impl Into<String>) -> Self {
        Condition {
            expression: expression.into(),
            ..Condition::default()
        }
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_string(), name.to_string());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_string(), value);
        self
    }

    /// The item must not exist yet (uniqueness, creation).
    pub fn item_absent() -> Self {
        Condition::new("attribute_not_exists(PK)")
    }

    /// Optimistic concurrency: the item is still at the version we read (0 = absent).
    pub fn at_version(version: u64) -> Self {
        if version == 0 {
            Condition::item_absent()
        } else {
            Condition::new("#version = :expected_version")
                .name("#version", "version")
                .value(":expected_version", AttributeValue::N(version.to_string()))
        }
    }

    /// Both conditions (their placeholders must differ).
    pub fn and(mut self, other: Condition) -> Self {
        self.expression = format!("({}) AND ({})", self.expression, other.expression);
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Where a counter must stay after an `add_to_counter`.
#[derive(Debug, Clone, Copy)]
pub enum CounterLimit {
    AtLeast(i64),
    AtMost(i64),
}

#[derive(Default)]
pub struct Transaction {
    writes: Vec<TransactWriteItem>,
    /// The error each write's failed condition means, by position.
    on_condition_failure: Vec<Option<ApiError>>,
    /// The size of the items put so far (`item_size`).
    put_bytes: usize,
}

impl Transaction {
    pub fn new() -> Self {
        Transaction::default()
    }

    pub fn put(&mut self, item: Item, condition: Option<Condition>, on_failure: Option<ApiError>) -> ApiResult<()> {
        if item_size(&item) > MAX_ITEM_BYTES {
            return Err(ApiError::validation(
                "body",
                "this change would make a record larger than the 400 KB one record can hold; shorten its text",
            ));
        }
        self.put_bytes += item_size(&item);
        let mut put = Put::builder().table_name("").set_item(Some(item));
        if let Some(condition) = condition {
            put = put
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(condition.names())
                .set_expression_attribute_values(condition.values());
        }
        let put = put.build().map_err(ApiError::internal)?;
        self.push(TransactWriteItem::builder().put(put).build(), on_failure);
        Ok(())
    }

    /// Puts an item that must not exist yet; `on_exists` is what a collision means.
    pub fn put_new(&mut self, item: Item, on_exists: ApiError) -> ApiResult<()> {
        self.put(item, Some(Condition::item_absent()), Some(on_exists))
    }

    pub fn delete(&mut self, key: Item, condition: Option<Condition>, on_failure: Option<ApiError>) -> ApiResult<()> {
        let mut delete = Delete::builder().table_name("").set_key(Some(key));
        if let Some(condition) = condition {
            delete = delete
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(condition.names())
                .set_expression_attribute_values(condition.values());
        }
        let delete = delete.build().map_err(ApiError::internal)?;
        self.push(TransactWriteItem::builder().delete(delete).build(), on_failure);
        Ok(())
    }

    /// Adds `delta` to a numeric attribute (created at `delta` if absent), conditioned on
    /// the result staying within `limit`, so concurrent writes can never take a counter
    /// past it; `on_failure` is what crossing it means.
    pub fn add_to_counter(
        &mut self,
        key: Item,
        attribute: &str,
        delta: i64,
        limit: Option<(CounterLimit, ApiError)>,
    ) -> ApiResult<()> {
        let mut update = Update::builder()
            .table_name("")
            .set_key(Some(key))
            .update_expression("ADD #counter :delta")
            .expression_attribute_names("#counter", attribute)
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
        let mut on_failure = None;
        if let Some((limit, error)) = limit {
            let (condition, bound) = match limit {
                CounterLimit::AtLeast(floor) => ("#counter >= :bound", floor - delta),
                CounterLimit::AtMost(ceiling) => {
                    ("attribute_not_exists(#counter) OR #counter <= :bound", ceiling - delta)
                }
            };
            update = update
                .condition_expression(condition)
                .expression_attribute_values(":bound", AttributeValue::N(bound.to_string()));
            on_failure = Some(error);
        }
        let update = update.build().map_err(ApiError::internal)?;
        self.push(TransactWriteItem::builder().update(update).build(), on_failure);
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) one attribute of an existing item, conditioned;
    /// `on_failure` is what a failed condition means.
    pub fn set_attribute(
        &mut self,
        key: Item,
        attribute: &str,
        value: Option<AttributeValue>,
        condition: Condition,
        on_failure: ApiError,
    ) -> ApiResult<()> {
        let mut update = Update::builder()
            .table_name("")
            .set_key(Some(key))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .expression_attribute_names("#set_attribute", attribute);
        update = match value {
            Some(value) => update
                .update_expression("SET #set_attribute = :set_value")
                .expression_attribute_values(":set_value", value),
            None => update.update_expression("REMOVE #set_attribute"),
        };
        let update = update.build().map_err(ApiError::internal)?;
        self.push(TransactWriteItem::builder().update(update).build(), Some(on_failure));
        Ok(())
    }

    /// Updates an existing item in place with `changes`, an update expression with its
    /// placeholders (held as a `Condition` is), if `condition` holds; for a write that
    /// must not depend on the version it read (a group's version counted up by each
    /// membership change, which parallel changes make in any order).
    pub fn update(
        &mut self,
        key: Item,
        changes: Condition,
        condition: Condition,
        on_failure: ApiError,
    ) -> ApiResult<()> {
        let mut names = changes.names.clone();
        names.extend(condition.names.clone());
        let mut values = changes.values.clone();
        values.extend(condition.values.clone());
        let update = Update::builder()
            .table_name("")
            .set_key(Some(key))
            .update_expression(&changes.expression)
            .condition_expression(&condition.expression)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(ApiError::internal)?;
        self.push(TransactWriteItem::builder().update(update).build(), Some(on_failure));
        Ok(())
    }

    pub fn condition_check(&mut self, key: Item, condition: Condition, on_failure: ApiError) -> ApiResult<()> {
        let check = ConditionCheck::builder()
            .table_name("")
            .set_key(Some(key))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .build()
            .map_err(ApiError::internal)?;
        self.push(
            TransactWriteItem::builder().condition_check(check).build(),
            Some(on_failure),
        );
        Ok(())
    }

    fn push(&mut self, write: TransactWriteItem, on_failure: Option<ApiError>) {
        self.writes.push(write);
        self.on_condition_failure.push(on_failure);
    }

    /// What DynamoDB would refuse of this transaction, checked before it is sent (the
    /// emulator refuses some of it, not all): more than 100 items or 4 MB is a request too
    /// large (400); the same item twice is a bug in the code that built it (500).
    fn check_limits(&self) -> ApiResult<()> {
        if self.writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::validation(
                "body",
                format!("this change touches more than {MAX_TRANSACTION_ITEMS} records; split it"),
            ));
        }
        if self.put_bytes > MAX_TRANSACTION_BYTES {
            return Err(ApiError::validation(
                "body",
                "this change would write more than the 4 MB one change can hold; split it or shorten its text",
            ));
        }
        let mut items = std::collections::HashSet::with_capacity(self.writes.len());
        for write in &self.writes {
            let key = item_key(write);
            if !items.insert(key.clone()) {
                return Err(ApiError::internal(format!(
                    "a transaction names the item {key:?} twice, which DynamoDB refuses"
                )));
            }
        }
        Ok(())
    }

    /// Commits the transaction (`send`), or, in a request under an `Idempotency-Key`,
    /// holds it for the guard to send with the request's answer (`hold_commit`).
    pub async fn commit(self, store: &Store) -> ApiResult<()> {
        self.check_limits()?;
        // Under an `Idempotency-Key`, a request's one transaction waits for its answer,
        // which the guard writes into it (`hold_commit`).
        let next = HELD
            .try_with(|hold| match std::mem::replace(&mut *hold.borrow_mut(), Hold::Spent) {
                Hold::Armed => Next::Hold,
                Hold::Holding(earlier) => Next::SendAfter(earlier),
                Hold::Spent => Next::Send,
            })
            .unwrap_or(Next::Send);
        match next {
            Next::Hold => {
                HELD.with(|hold| *hold.borrow_mut() = Hold::Holding(Box::new(self)));
                Ok(())
            }
            // A second commit: the request is not one change, so the first is sent now, in
            // order, and the answer is kept apart from both afterwards.
            Next::SendAfter(earlier) => {
                earlier.send(store).await?;
                self.send(store).await
            }
            Next::Send => self.send(store).await,
        }
    }

    /// How many writes the transaction holds.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Whether one more put of `item` stays within DynamoDB's limits on a transaction
    /// (items, bytes) and on an item.
    pub fn has_room_for(&self, item: &Item) -> bool {
        let size = item_size(item);
        size <= MAX_ITEM_BYTES
            && self.writes.len() < MAX_TRANSACTION_ITEMS
            && self.put_bytes + size <= MAX_TRANSACTION_BYTES
    }

    /// Sends the transaction now with a `ClientRequestToken`, so that a re-send within ten
    /// minutes is the same transaction to DynamoDB and never runs twice: the SDK's retry of
    /// an attempt whose answer was lost, and ours after `TransactionInProgress` (an
    /// earlier attempt of this token still running), which must reach that attempt's
    /// outcome. A cancellation for a `TransactionConflict` (another transaction held an
    /// item) wrote nothing, so it is tried again as a new transaction, under a new token,
    /// after a short jittered pause; if conflicts persist, the answer is `503`, never a
    /// business conflict.
    pub async fn send(self, store: &Store) -> ApiResult<()> {
        self.check_limits()?;
        let table = store.table().to_string();
        let writes: Vec<TransactWriteItem> = self.writes.into_iter().map(|write| with_table(write, &table)).collect();
        let mut token = uuid::Uuid::now_v7().to_string();
        let mut attempt = 1;
        loop {
            let result = store
                .client()
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let failure = match result {
                Ok(_) => return Ok(()),
                Err(error) => classify_failure(error, &self.on_condition_failure),
            };
            match failure {
                Failure::Conflict { fault, applied } if attempt < CONFLICT_ATTEMPTS => {
                    tracing::info!(attempt, %fault, "transaction conflict; trying again");
                    if !applied {
                        token = uuid::Uuid::now_v7().to_string();
                    }
                    tokio::time::sleep(conflict_pause(attempt)).await;
                    attempt += 1;
                }
                Failure::Conflict { fault, .. } => {
                    return Err(ApiError::unavailable(
                        "the records this change needs are busy with other changes; nothing was changed, retry in a moment",
                        "DynamoDB",
                        format!("{fault} after {attempt} attempts"),
                    ));
                }
                Failure::Answer(error) => return Err(error),
            }
        }
    }
}

/// What a keyed request has done with its commits so far.
enum Hold {
    /// No commit yet: the first one will be held.
    Armed,
    /// The one commit so far, held until the answer joins it.
    Holding(Box<Transaction>),
    /// The request committed more than once (or its hold was taken): commits go out
    /// as they come.
    Spent,
}

/// What `commit` does with a transaction.
enum Next {
    Hold,
    SendAfter(Box<Transaction>),
    Send,
}

tokio::task_local! {
    static HELD: std::cell::RefCell<Hold>;
}

/// Runs `request` with its first commit held back: if the request commits exactly once,
/// that transaction is returned unsent, for the caller to add the request's answer to it
/// and send the two together (`idempotency.rs`: the change and its replayable answer
/// exist together or not at all). A request that commits twice has its commits sent as
/// they come and gets `None`; so does one that does not commit. A request that fails after
/// its commit was held never changed anything: its transaction is dropped.
pub async fn hold_commit<Output>(request: impl std::future::Future<Output = Output>) -> (Output, Option<Transaction>) {
    HELD.scope(std::cell::RefCell::new(Hold::Armed), async move {
        let output = request.await;
        let held = HELD.with(|hold| std::mem::replace(&mut *hold.borrow_mut(), Hold::Spent));
        match held {
            Hold::Holding(transaction) => (output, Some(*transaction)),
            Hold::Armed | Hold::Spent => (output, None),
        }
    })
    .await
}

/// Runs `work`, whose commits are independent changes (a batch's rows, each answered on
/// its own), with each commit sent as it comes, even under an `Idempotency-Key`: holding
/// one back would let a later row's commit carry an earlier row's failure.
pub async fn each_commit_sent<Output>(work: impl std::future::Future<Output = Output>) -> Output {
    HELD.scope(std::cell::RefCell::new(Hold::Spent), work).await
}

/// Attempts of one transaction that meets `TransactionConflict`, in all.
const CONFLICT_ATTEMPTS: u32 = 4;

/// A full-jitter pause before the next attempt: up to 25, 50, 100 ms.
fn conflict_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 25u64 << (attempt - 1).min(4);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

/// What a failed commit means.
enum Failure {
    /// Another transaction held an item: worth another attempt. `applied`: whether this
    /// token's earlier attempt may still write (it is in progress), so the next attempt
    /// must carry the same token; a cancelled one wrote nothing.
    Conflict { fault: String, applied: bool },
    /// The answer for the caller.
    Answer(ApiError),
}

/// The (PK, SK) of the item a write touches.
fn item_key(write: &TransactWriteItem) -> (Option<String>, Option<String>) {
    let key = if let Some(put) = &write.put {
        Some(&put.item)
    } else if let Some(delete) = &write.delete {
        Some(&delete.key)
    } else if let Some(update) = &write.update {
        Some(&update.key)
    } else {
        write.condition_check.as_ref().map(|check| &check.key)
    };
    match key {
        Some(key) => (
            super::keys::string_attribute(key, super::keys::PK),
            super::keys::string_attribute(key, super::keys::SK),
        ),
        None => (None, None),
    }
}

/// Builders require a table name; it is filled in once, at commit, from the store.
fn with_table(write: TransactWriteItem, table: &str) -> TransactWriteItem {
    let mut write = write;
    if let Some(put) = write.put.as_mut() {
        put.table_name = table.to_string();
    }
    if let Some(delete) = write.delete.as_mut() {
        delete.table_name = table.to_string();
    }
    if let Some(update) = write.update.as_mut() {
        update.table_name = table.to_string();
    }
    if let Some(check) = write.condition_check.as_mut() {
        check.table_name = table.to_string();
    }
    write
}

fn classify_failure(error: SdkError<TransactWriteItemsError, HttpResponse>, meanings: &[Option<ApiError>]) -> Failure {
    let canceled = match &error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(canceled) => Some(canceled),
            // The same token's earlier attempt is still running (its answer was lost).
            TransactWriteItemsError::TransactionInProgressException(_) => {
                return Failure::Conflict {
                    fault: "TransactionInProgress".into(),
                    applied: true,
                };
            }
            _ => None,
        },
        _ => None,
    };
    let Some(canceled) = canceled else {
        return Failure::Answer(error.into());
    };
    let reasons = canceled.cancellation_reasons();
    if let Some(index) = reasons
        .iter()
        .position(|reason| reason.code() == Some("ConditionalCheckFailed"))
        && let Some(Some(meaning)) = meanings.get(index)
    {
        return Failure::Answer(meaning.clone());
    }
    if reasons
        .iter()
        .any(|reason| reason.code() == Some("TransactionConflict"))
    {
        return Failure::Conflict {
            fault: "TransactionConflict".into(),
            applied: false,
        };
    }
    if reasons
        .iter()
        .any(|reason| matches!(reason.code(), Some("ThrottlingError" | "ProvisionedThroughputExceeded")))
    {
        return Failure::Answer(ApiError::unavailable(
            "a service the API depends on is busy; nothing was changed, retry in a moment",
            "DynamoDB",
            format!("transaction throttled: {reasons:?}"),
        ));
    }
    // DynamoDB always names each item's reason; a cancellation without one is not guessed at.
    Failure::Answer(ApiError::internal(format!("transaction canceled: {reasons:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn a_transaction_naming_one_item_twice_is_refused_before_it_is_sent() {
        let mut transaction = Transaction::new();
        transaction.put(keys::key("ORG#org_x", "TM#tm_1"), None, None).unwrap();
        transaction
            .add_to_counter(keys::key("ORG#org_x", "TM_OPEN#tm_1"), "count", 1, None)
            .unwrap();
        assert!(transaction.check_limits().is_ok());
        transaction
            .condition_check(
                keys::key("ORG#org_x", "TM#tm_1"),
                Condition::item_absent(),
                ApiError::conflict("x"),
            )
            .unwrap();
        let refused = transaction.check_limits().unwrap_err();
        assert_eq!(refused.status(), 500, "{refused:?}");
    }

    #[test]
    fn a_transaction_over_a_hundred_items_or_four_megabytes_is_refused_before_it_is_sent() {
        let mut many = Transaction::new();
        for index in 0..=MAX_TRANSACTION_ITEMS {
            many.put(keys::key("ORG#org_x", format!("ITEM#{index}")), None, None)
                .unwrap();
        }
        assert_eq!(many.check_limits().unwrap_err().status(), 400);

        let mut large = Transaction::new();
        let text = "x".repeat(MAX_ITEM_BYTES - 1000);
        for index in 0..(MAX_TRANSACTION_BYTES / MAX_ITEM_BYTES + 1) {
            let mut item = keys::key("ORG#org_x", format!("ITEM#{index}"));
            item.insert("notes".into(), AttributeValue::S(text.clone()));
            large.put(item, None, None).unwrap();
        }
        assert_eq!(large.check_limits().unwrap_err().status(), 400);
    }

    #[test]
    fn an_answer_joins_a_transaction_only_where_it_fits() {
        let answer = keys::key("ORG#org_x#IDEMPOTENCY#key_1", "KEY#k");
        let mut full = Transaction::new();
        for index in 0..MAX_TRANSACTION_ITEMS {
            full.put(keys::key("ORG#org_x", format!("ITEM#{index}")), None, None)
                .unwrap();
        }
        assert!(!full.has_room_for(&answer), "no 101st item");
        let mut heavy = Transaction::new();
        let text = "x".repeat(MAX_ITEM_BYTES - 1000);
        while heavy.put_bytes + MAX_ITEM_BYTES <= MAX_TRANSACTION_BYTES {
            let mut item = keys::key("ORG#org_x", format!("ITEM#{}", heavy.len()));
            item.insert("notes".into(), AttributeValue::S(text.clone()));
            heavy.put(item, None, None).unwrap();
        }
        let mut large_answer = answer.clone();
        large_answer.insert("responseBody".into(), AttributeValue::S(text.clone()));
        assert!(!heavy.has_room_for(&large_answer), "not past 4 MB");
        assert!(heavy.has_room_for(&answer));
        assert!(Transaction::new().has_room_for(&large_answer));
    }
}
