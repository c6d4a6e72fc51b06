//! One page of a Query, computed so that `nextCursor` never depends on whether DynamoDB
//! (or the emulator) returns a `LastEvaluatedKey` on an exact last page: we read one item
//! past the page, and only its existence says there is a next page.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::item_reader::{Entries, from_entries};
use super::raw_body::RawBody;
use super::{Item, Store};
use crate::error::{ApiError, ApiResult};

/// DynamoDB caps a sort key at 1024 bytes (a partition key at 2048).
const MAX_KEY_VALUE_BYTES: usize = 1024;

fn invalid_cursor() -> ApiError {
    ApiError::validation("cursor", "`cursor` is not valid for this query")
}

/// Filtered queries read this many items per round trip, so a sparse filter costs fewer calls.
const FILTERED_READ_SIZE: i32 = 100;

/// A filtered page stops after this many reads (400 items examined) even if it found fewer
/// than `limit` matches, and returns a cursor from where it stopped: one request never
/// reads a whole partition, however sparse the filter.
pub const MAX_FILTERED_READS: usize = 4;

#[derive(Debug, Clone)]
pub struct QuerySpec {
    /// `None` for the table, or a GSI name.
    pub index: Option<&'static str>,
    pub partition_attribute: &'static str,
    pub partition: String,
    pub sort_attribute: &'static str,
    pub sort: SortRange,
    pub filter: Option<Filter>,
    pub newest_first: bool,
    /// A strongly consistent read (the table only: a GSI cannot give one).
    pub consistent: bool,
    /// Only these attributes of each item (and the keys a cursor needs): a record's own
    /// fields, without its index attributes, which are a third of an item and the bulk
    /// of what the SDK would parse for nothing.
    pub projection: Option<&'static [&'static str]>,
}

#[derive(Debug, Clone)]
pub enum SortRange {
    All,
    BeginsWith(String),
    Between(String, String),
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Filter {
    /// Only the items whose `status` is `active` (what lists of records that are
    /// retired or deleted in place show).
    pub fn active() -> Filter {
        Filter {
            expression: "#status = :active".into(),
            names: HashMap::from([("#status".to_string(), "status".to_string())]),
            values: HashMap::from([(":active".to_string(), AttributeValue::S("active".into()))]),
        }
    }
}

impl QuerySpec {
    pub fn table(partition: String, sort: SortRange) -> Self {
        QuerySpec {
            index: None,
            partition_attribute: PK,
            partition,
            sort_attribute: SK,
            sort,
            filter: None,
            newest_first: false,
            consistent: false,
            projection: None,
        }
    }

    pub fn index(
        index: &'static str,
        partition_attribute: &'static str,
        sort_attribute: &'static str,
        partition: String,
        sort: SortRange,
    ) -> Self {
        QuerySpec {
            index: Some(index),
            partition_attribute,
            partition,
            sort_attribute,
            sort,
            filter: None,
            newest_first: false,
            consistent: false,
            projection: None,
        }
    }

    pub fn with_filter(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    /// Reads only `attributes` of each item, and the keys of this query's order.
    pub fn projecting(mut self, attributes: &'static [&'static str]) -> Self {
        self.projection = Some(attributes);
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// Reads what every write acknowledged before it (DynamoDB refuses this on a GSI,
    /// so it is only asked of table queries).
    pub fn consistent(mut self) -> Self {
        self.consistent = self.index.is_none();
        self
    }

    /// The key attributes that locate an item in this query's order.
    fn key_attributes(&self) -> Vec<&'static str> {
        let mut attributes = vec![PK, SK];
        for attribute in [self.partition_attribute, self.sort_attribute] {
            if !attributes.contains(&attribute) {
                attributes.push(attribute);
            }
        }
        attributes
    }

    /// Turns a position taken from a client's cursor back into a start key, refusing any
    /// position outside this query's partition and range (a forged cursor reveals nothing).
    fn start_key(&self, position: &BTreeMap<String, String>) -> ApiResult<Item> {
        let invalid = invalid_cursor;
        let mut key = Item::new();
        for attribute in self.key_attributes() {
            let value = position.get(attribute).ok_or_else(invalid)?;
            // DynamoDB's own limits on key values.
            if value.is_empty() || value.len() > MAX_KEY_VALUE_BYTES {
                return Err(invalid());
            }
            key.insert(attribute.to_string(), AttributeValue::S(value.clone()));
        }
        if position.len() != key.len() || position.get(self.partition_attribute) != Some(&self.partition) {
            return Err(invalid());
        }
        let sort_value = &position[self.sort_attribute];
        let in_range = match &self.sort {
            SortRange::All => true,
            SortRange::BeginsWith(prefix) => sort_value.starts_with(prefix.as_str()),
            SortRange::Between(low, high) => sort_value >= low && sort_value <= high,
        };
        if in_range { Ok(key) } else { Err(invalid()) }
    }
}

/// The expression attribute names and values a request has so far.
struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// A Query's KeyConditionExpression with exactly the placeholders it uses (DynamoDB
/// refuses an unused name or value).
#[derive(Debug)]
struct KeyCondition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl QuerySpec {
    /// The key condition of this query. A reversed `BETWEEN` (low above high) is refused
    /// here: DynamoDB answers it with a ValidationException while the emulator answers
    /// it with nothing, so it must never be sent. The edge refuses a reversed range a
    /// client sends (400); one that reaches this point is a bug.
    fn key_condition(&self) -> ApiResult<KeyCondition> {
        let mut names = HashMap::from([("#pk".to_string(), self.partition_attribute.to_string())]);
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(self.partition.clone()))]);
        let expression = match &self.sort {
            SortRange::All => "#pk = :pk".to_string(),
            SortRange::BeginsWith(prefix) => {
                names.insert("#sk".to_string(), self.sort_attribute.to_string());
                values.insert(":sk".to_string(), AttributeValue::S(prefix.clone()));
                "#pk = :pk AND begins_with(#sk, :sk)".to_string()
            }
            // DynamoDB compares strings by their UTF-8 bytes, as `str`'s `Ord` does.
            SortRange::Between(low, high) if low > high => {
                return Err(ApiError::internal(format!(
                    "a reversed BETWEEN on {} of {}: {low:?} is above {high:?}",
                    self.sort_attribute, self.partition
                )));
            }
            SortRange::Between(low, high) => {
                names.insert("#sk".to_string(), self.sort_attribute.to_string());
                values.insert(":low".to_string(), AttributeValue::S(low.clone()));
                values.insert(":high".to_string(), AttributeValue::S(high.clone()));
                "#pk = :pk AND #sk BETWEEN :low AND :high".to_string()
            }
        };
        Ok(KeyCondition {
            expression,
            names,
            values,
        })
    }
}

/// One page of items and, if more follow, the position after its last item.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<BTreeMap<String, String>>,
}

/// What one Query call read, each item mapped as its reader asked, and what paging needs
/// of them.
struct Read<R> {
    records: Vec<R>,
    /// The position of the record at index `keep - 1`: the last one a page would keep.
    kept_last: Option<BTreeMap<String, String>>,
    /// The position of the last record read.
    last: Option<BTreeMap<String, String>>,
    last_evaluated: Option<Item>,
}

/// The part of a Query's body we read: its items and where the next call starts.
#[derive(Default)]
struct QueryBody<'a> {
    items: Vec<Entries<'a>>,
    last_evaluated_key: Option<Entries<'a>>,
}

impl<'de> Deserialize<'de> for QueryBody<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = QueryBody<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a Query's output")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<QueryBody<'de>, A::Error> {
                let mut body = QueryBody::default();
                while let Some(field) = map.next_key::<String>()? {
                    match field.as_str() {
                        "Items" => body.items = map.next_value()?,
                        "LastEvaluatedKey" => body.last_evaluated_key = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(body)
            }
        }
        deserializer.deserialize_map(BodyVisitor)
    }
}

impl Store {
    /// One page of records mapped from their items (read from the Query's body as
    /// DynamoDB sent it, without the SDK's maps: `store::raw_body`).
    pub async fn query_records<T: DeserializeOwned>(
        &self,
        spec: &QuerySpec,
        limit: usize,
        after: Option<&BTreeMap<String, String>>,
    ) -> ApiResult<Page<T>> {
        self.paged(spec, limit, after, |entries| Ok(from_entries(entries)?))
            .await
    }

    pub async fn query_page(
        &self,
        spec: &QuerySpec,
        limit: usize,
        after: Option<&BTreeMap<String, String>>,
    ) -> ApiResult<Page<Item>> {
        self.paged(spec, limit, after, entries_into_item).await
    }

    /// `limit` items from `after` on, read one past the page: only that item's existence
    /// says a next page follows.
    async fn paged<R>(
        &self,
        spec: &QuerySpec,
        limit: usize,
        after: Option<&BTreeMap<String, String>>,
        read: impl Fn(Entries<'_>) -> ApiResult<R>,
    ) -> ApiResult<Page<R>> {
        let mut start_key = match after {
            Some(position) => Some(spec.start_key(position)?),
            None => None,
        };
        let mut items: Vec<R> = Vec::with_capacity(limit + 1);
        let mut last = None;
        let mut reads = 0;
        loop {
            let keep = limit - items.len();
            let read_size = if spec.filter.is_some() {
                FILTERED_READ_SIZE
            } else {
                i32::try_from(keep + 1).unwrap_or(FILTERED_READ_SIZE)
            };
            let output = self.query_once(spec, read_size, start_key.take(), keep, &read).await?;
            reads += 1;
            if items.len() + output.records.len() > limit {
                // The page ends inside this read, or (keep 0) with the previous one.
                let next = if keep == 0 { last } else { output.kept_last };
                items.extend(output.records.into_iter().take(keep));
                return Ok(Page { items, next });
            }
            items.extend(output.records);
            if output.last.is_some() {
                last = output.last;
            }
            match output.last_evaluated {
                // The read budget is spent: a shorter page, and a cursor from where it stopped.
                Some(last_evaluated) if spec.filter.is_some() && reads >= MAX_FILTERED_READS => {
                    let next = Some(position_of(spec, &last_evaluated));
                    return Ok(Page { items, next });
                }
                Some(last_evaluated) => start_key = Some(last_evaluated),
                None => return Ok(Page { items, next: None }),
            }
        }
    }

    /// How many items a query selects (after its filter), counted by DynamoDB
    /// (`Select COUNT`), page after page: nothing but the count crosses the wire.
    pub async fn count(&self, spec: &QuerySpec) -> ApiResult<u64> {
        let mut total = 0;
        let mut start_key = None;
        loop {
            let (request, Placeholders { names, values }) = self.query_request(spec, start_key)?;
            let output = request
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .send()
                .await?;
            total += u64::try_from(output.count()).unwrap_or_default();
            match output.last_evaluated_key {
                Some(key) => start_key = Some(key),
                None => return Ok(total),
            }
        }
    }

    /// The Query a read and a count both send (table, index, key condition, consistency,
    /// filter, start key), with the names and values so far: the caller adds what it
    /// reads, then sets them.
    fn query_request(
        &self,
        spec: &QuerySpec,
        start_key: Option<Item>,
    ) -> ApiResult<(QueryFluentBuilder, Placeholders)> {
        let KeyCondition {
            expression: key_condition,
            mut names,
            mut values,
        } = spec.key_condition()?;
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .set_index_name(spec.index.map(str::to_string))
            .key_condition_expression(key_condition)
            .set_consistent_read(spec.consistent.then_some(true))
            .set_exclusive_start_key(start_key);
        if let Some(filter) = &spec.filter {
            names.extend(filter.names.clone());
            values.extend(filter.values.clone());
            request = request.filter_expression(&filter.expression);
        }
        Ok((request, Placeholders { names, values }))
    }

    /// Every item of a query, for small bounded collections (a user's memberships).
    pub async fn query_all(&self, spec: &QuerySpec) -> ApiResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let read = self
                .query_once(spec, FILTERED_READ_SIZE, start_key.take(), 0, &entries_into_item)
                .await?;
            items.extend(read.records);
            match read.last_evaluated {
                Some(key) => start_key = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// One Query call, its items mapped by `read`; the positions of the last item and of
    /// the one at index `keep - 1` come along (only the page's end needs them).
    async fn query_once<R>(
        &self,
        spec: &QuerySpec,
        limit: i32,
        start_key: Option<Item>,
        keep: usize,
        read: &impl Fn(Entries<'_>) -> ApiResult<R>,
    ) -> ApiResult<Read<R>> {
        let (request, Placeholders { mut names, values }) = self.query_request(spec, start_key)?;
        let mut request = request.scan_index_forward(!spec.newest_first).limit(limit);
        if let Some(attributes) = spec.projection {
            let mut projected: Vec<&str> = attributes.to_vec();
            projected.extend(spec.key_attributes());
            projected.sort_unstable();
            projected.dedup();
            let mut placeholders = Vec::with_capacity(projected.len());
            for (index, attribute) in projected.into_iter().enumerate() {
                let placeholder = format!("#p{index}");
                names.insert(placeholder.clone(), attribute.to_string());
                placeholders.push(placeholder);
            }
            request = request.projection_expression(placeholders.join(", "));
        }
        let resuming = request.get_exclusive_start_key().is_some();
        let raw_body = RawBody::default();
        request
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .customize()
            .interceptor(raw_body.interceptor())
            .send()
            .await
            .map_err(|error| {
                // Our own start keys are always valid, so DynamoDB refusing one means the
                // client's cursor was tampered with: their mistake, not a fault of ours.
                let refused_key = error.raw_response().is_some_and(|raw| raw.status().as_u16() == 400)
                    && error.code() == Some("ValidationException");
                if resuming && refused_key {
                    invalid_cursor()
                } else {
                    error.into()
                }
            })?;
        let body = raw_body.take().ok_or_else(|| {
            ApiError::internal("a Query's body was not handed over (a Store built without Store::new)")
        })?;
        let unreadable = |error: &dyn std::fmt::Display| {
            ApiError::unavailable(
                "a service the API depends on sent an answer that could not be read; nothing was changed, retry in a moment",
                "DynamoDB",
                format!("Query body: {error}"),
            )
        };
        let body: QueryBody<'_> = serde_json::from_slice(&body).map_err(|error| unreadable(&error))?;
        let count = body.items.len();
        let mut records = Vec::with_capacity(count);
        let mut kept_last = None;
        let mut last = None;
        for (index, entries) in body.items.into_iter().enumerate() {
            if keep > 0 && index == keep - 1 {
                kept_last = Some(entries_position(spec, &entries));
            }
            if index + 1 == count {
                last = Some(entries_position(spec, &entries));
            }
            records.push(read(entries)?);
        }
        let last_evaluated = match body.last_evaluated_key {
            Some(key) => Some(
                key.0
                    .into_iter()
                    .map(|(name, value)| match value.into_key_value() {
                        Some(value) => Ok((name.into_owned(), value)),
                        None => Err(unreadable(&format!("LastEvaluatedKey's {name} is not a key value"))),
                    })
                    .collect::<ApiResult<Item>>()?,
            ),
            None => None,
        };
        Ok(Read {
            records,
            kept_last,
            last,
            last_evaluated,
        })
    }
}

/// An item of a Query's body as the SDK's map (for the readers that want one).
fn entries_into_item(entries: Entries<'_>) -> ApiResult<Item> {
    entries
        .0
        .into_iter()
        .map(|(name, value)| match value.into_attribute_value() {
            Some(value) => Ok((name.into_owned(), value)),
            None => Err(ApiError::internal(format!("attribute {name} of an unknown type"))),
        })
        .collect()
}

/// The position of an item of a Query's body in this query's order.
fn entries_position(spec: &QuerySpec, entries: &Entries<'_>) -> BTreeMap<String, String> {
    spec.key_attributes()
        .into_iter()
        .filter_map(|attribute| {
            entries
                .string(attribute)
                .map(|value| (attribute.to_string(), value.to_string()))
        })
        .collect()
}

fn position_of(spec: &QuerySpec, item: &Item) -> BTreeMap<String, String> {
    spec.key_attributes()
        .into_iter()
        .filter_map(|attribute| keys::string_attribute(item, attribute).map(|value| (attribute.to_string(), value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(low: &str, high: &str) -> QuerySpec {
        QuerySpec::index(
            keys::GSI5,
            keys::GSI5PK,
            keys::GSI5SK,
            "ORG#org_x#TA_COMPLETED".into(),
            SortRange::Between(low.into(), high.into()),
        )
    }

    #[test]
    fn a_reversed_between_is_refused_before_it_is_sent() {
        let refused = between("001738368000000", "001735689600000")
            .key_condition()
            .unwrap_err();
        assert!(matches!(refused, ApiError::Internal { .. }), "{refused:?}");
        assert_eq!(refused.status(), 500);
        // Byte order, as DynamoDB compares: `~` is above every digit and letter.
        assert!(between("~", "0").key_condition().is_err());
        assert!(between("CSM#~", "CSM#csm_01").key_condition().is_err());
    }

    #[test]
    fn a_between_in_order_or_empty_is_sent_with_exactly_the_placeholders_it_uses() {
        for (low, high) in [("001735689600000", "001738368000000"), ("0", "0"), ("0", "~"), ("", "")] {
            let condition = between(low, high).key_condition().unwrap();
            assert_eq!(condition.expression, "#pk = :pk AND #sk BETWEEN :low AND :high");
            assert_eq!(condition.names.len(), 2);
            assert_eq!(condition.values.len(), 3);
        }
        let all = QuerySpec::table("ORG#org_x".into(), SortRange::All)
            .key_condition()
            .unwrap();
        assert_eq!(all.expression, "#pk = :pk");
        assert_eq!((all.names.len(), all.values.len()), (1, 1));
    }
}
