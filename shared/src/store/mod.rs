//! DynamoDB: the single table, its key design, item mapping and access patterns.
//!
//! Every access pattern is listed in `docs/access-patterns.md`; a new query means a new row
//! there. Domain modules never build expressions themselves: they call the functions here.

pub mod api_keys;
pub mod audit;
pub mod audit_digests;
pub mod cip_senior_manager;
pub mod evidence_packages;
pub mod facilities;
pub mod groups;
pub mod idempotency;
pub mod invitations;
mod item_reader;
pub mod keys;
pub mod links;
pub mod lms_statements;
pub mod members;
pub mod organizations;
pub mod query;
mod raw_body;
pub mod roles;
pub mod table;
pub mod training_assignments;
pub mod training_modules;
pub mod training_requirements;
pub mod transaction;
pub mod webhooks;

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};

pub use query::{Page, QuerySpec};
pub use transaction::Transaction;

pub type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it; built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    clock: Clock,
}

/// The client a store calls DynamoDB with: the one given, with
/// - connections that hand a Query's body over (`raw_body`);
/// - no upload throughput check: a request to DynamoDB is a few hundred bytes sent at once,
///   and the check woke the function every 100 ms for as long as an answer took (the
///   download check, and the attempt and call timeouts, stay).
fn store_client(client: &Client) -> Client {
    let stalled = aws_sdk_dynamodb::config::StalledStreamProtectionConfig::enabled()
        .upload_enabled(false)
        .build();
    Client::from_conf(
        raw_body::handing_over_bodies(client)
            .stalled_stream_protection(stalled)
            .build(),
    )
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client: store_client(&client),
            table: table.into(),
            clock: Clock::system(),
        }
    }

    /// The same table read and written at the time `clock` tells (tests of time).
    pub fn with_clock(self, clock: Clock) -> Self {
        Store { clock, ..self }
    }

    /// The one clock of the commands that write through this store (`clock.rs`).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Opens the connection to DynamoDB (TCP and TLS) with the cheapest call there is: an
    /// eventually consistent read of a key no item has (half a read unit, and the
    /// `dynamodb:GetItem` every function already holds). Called during init, so the first
    /// request reuses the connection instead of paying for its set-up.
    /// No retries, and `budget` for the whole call: an unreachable endpoint costs init a
    /// refused connection, not the standard retry policy's backoff.
    pub async fn warm_up(&self, budget: std::time::Duration) -> ApiResult<()> {
        let once = aws_sdk_dynamodb::config::Builder::new()
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            // The operation timeout alone: connect and read timeouts pick the connection
            // pool, and a different pool would leave the first request a cold one.
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(budget)
                    .build(),
            );
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keys::key("WARM_UP", "WARM_UP")))
            .customize()
            .config_override(once)
            .send()
            .await?;
        Ok(())
    }

    /// A strongly consistent read of one item: authorization and conditions depend on it.
    /// One item put on a condition, alone (a PutItem: half the write cost of a
    /// one-item transaction); `Ok(false)` when the condition did not hold.
    pub async fn put_if(&self, item: Item, condition: transaction::Condition) -> ApiResult<bool> {
        if item_size(&item) > MAX_ITEM_BYTES {
            return Err(ApiError::internal("a record would exceed the 400 KB DynamoDB holds"));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names((!condition.names.is_empty()).then(|| condition.names.clone()))
            .set_expression_attribute_values((!condition.values.is_empty()).then(|| condition.values.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, key: Item) -> ApiResult<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await?;
        match output.item {
            Some(item) => Ok(Some(from_item(item)?)),
            None => Ok(None),
        }
    }

    /// Reads records by key, a BatchGetItem per hundred; those that do not exist are
    /// absent from the answer.
    pub async fn get_records<T: DeserializeOwned>(&self, keys: Vec<Item>) -> ApiResult<Vec<T>> {
        self.get_many(keys).await?.into_values().map(from_item).collect()
    }

    /// Reads items by key: one BatchGetItem per hundred distinct keys (DynamoDB refuses a
    /// request of more than 100 keys, or one naming a key twice, so a key asked for twice
    /// is read once), retrying only unprocessed keys. The result is keyed by (PK, SK) so
    /// callers pick out what they asked for.
    pub async fn get_many(&self, keys: Vec<Item>) -> ApiResult<HashMap<(String, String), Item>> {
        let mut seen = HashSet::with_capacity(keys.len());
        let distinct: Vec<Item> = keys
            .into_iter()
            .filter(|key| {
                seen.insert((
                    keys::string_attribute(key, keys::PK),
                    keys::string_attribute(key, keys::SK),
                ))
            })
            .collect();
        let mut found = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(MAX_BATCH_GET_KEYS) {
            self.get_batch(chunk.to_vec(), &mut found).await?;
        }
        Ok(found)
    }

    /// One BatchGetItem of at most `MAX_BATCH_GET_KEYS` distinct keys, and its retries of
    /// the keys DynamoDB left unprocessed (throttling, or over 16 MB in one answer).
    async fn get_batch(&self, keys: Vec<Item>, found: &mut HashMap<(String, String), Item>) -> ApiResult<()> {
        let mut pending = keys;
        for attempt in 0..UNPROCESSED_ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(unprocessed_pause(attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(ApiError::internal)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await?;
            for item in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                let pk = keys::string_attribute(&item, keys::PK).unwrap_or_default();
                let sk = keys::string_attribute(&item, keys::SK).unwrap_or_default();
                found.insert((pk, sk), item);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(unprocessed_left("BatchGetItem", pending.len()))
        }
    }
}

/// Rounds of a batch call that DynamoDB answers with unprocessed keys or items (it throttles
/// part of a batch that way), in all.
pub(crate) const UNPROCESSED_ATTEMPTS: u32 = 5;

/// Puts items as they are, unconditioned, 25 a BatchWriteItem, retrying what DynamoDB
/// leaves unprocessed: only for bulk loads (`import_batch`), never an API path.
pub(crate) async fn put_all(store: &Store, items: Vec<Item>) -> ApiResult<()> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in items.chunks(25) {
        let mut pending: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(ApiError::internal)
            })
            .collect::<ApiResult<_>>()?;
        for attempt in 0..UNPROCESSED_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(unprocessed_pause(attempt)).await;
            }
            let output = store
                .client()
                .batch_write_item()
                .request_items(store.table(), std::mem::take(&mut pending))
                .send()
                .await?;
            pending = output
                .unprocessed_items
                .and_then(|mut tables| tables.remove(store.table()))
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(unprocessed_left("BatchWriteItem", pending.len()));
        }
    }
    Ok(())
}

/// AWS's advice for unprocessed batch keys: exponential backoff with full jitter (up to 50,
/// 100, 200, 400 ms here).
pub(crate) fn unprocessed_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 50u64 << (attempt - 1).min(4);
    std::time::Duration::from_millis(rand::random_range(0..=ceiling))
}

/// The answer when a batch still has unprocessed keys after every round: DynamoDB is
/// throttling us, and the client may retry.
pub(crate) fn unprocessed_left(operation: &str, left: usize) -> ApiError {
    ApiError::unavailable(
        "a service the API depends on is busy; nothing was changed, retry in a moment",
        "DynamoDB",
        format!("{operation} left {left} keys unprocessed after {UNPROCESSED_ATTEMPTS} rounds"),
    )
}

/// DynamoDB's limit on the keys of one BatchGetItem.
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// DynamoDB refuses an item over 400 KB (names and values, UTF-8 bytes).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An upper bound of an item's size as DynamoDB counts it, so a write that would be refused
/// is answered with a clear error before it is sent.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        // At most one byte per two digits plus one; the text length bounds it.
        AttributeValue::N(number) => number.len() + 1,
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| n.len() + 1).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + attribute_size(v)).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| k.len() + 1 + attribute_size(v)).sum::<usize>(),
        _ => 1,
    }
}

pub(crate) fn to_item<T: serde::Serialize>(record: &T) -> ApiResult<Item> {
    Ok(serde_dynamo::to_item(record)?)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> ApiResult<T> {
    Ok(item_reader::from_item(item)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_checks_download_throughput_but_not_upload() {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let store = Store::new(Client::from_conf(config), "table");
        let stalled = store.client().config().stalled_stream_protection().cloned().unwrap();
        assert!(!stalled.upload_enabled());
        assert!(stalled.download_enabled());
        assert!(
            store.client().config().http_client().is_some(),
            "bodies can be handed over"
        );
    }
}
