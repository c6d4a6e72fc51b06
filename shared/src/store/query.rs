//! One page of a Query, computed so that `nextCursor` never depends on whether DynamoDB
//! (or the emulator) returns a `LastEvaluatedKey` on an exact last page: we read one item
//! past the page, and only its existence says there is a next page.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use serde::Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// What paging needs of one Query call, beside the records it appended.
#[derive(Debug)]
struct Read {
    /// The position of the record at index `keep - 1`: the last one a page would keep.
    kept_last: Option<BTreeMap<String, String>>,
    /// The position of the last record read.
    last: Option<BTreeMap<String, String>>,
    last_evaluated: Option<Item>,
}

/// Reads a Query's body item by item as the parser meets them: each item is mapped by
/// `read` and appended to `records` at once, so no page of parsed items is ever held
/// beside the records made of them.
struct BodyReader<'s, R, F> {
    spec: &'s QuerySpec,
    /// The spec's key attributes, the names a position is made of.
    key_attributes: Vec<&'static str>,
    keep: usize,
    read: &'s F,
    records: &'s mut Vec<R>,
    /// `read`'s own error, returned as it is rather than as a parse error.
    failed: Option<ApiError>,
}

/// The rest of a body, once its items are read.
#[derive(Default)]
struct BodyEnd<'a> {
    kept_last: Option<BTreeMap<String, String>>,
    last: Option<BTreeMap<String, String>>,
    last_evaluated_key: Option<Entries<'a>>,
}

impl<'de, R, F: Fn(Entries<'_>) -> ApiResult<R>> DeserializeSeed<'de> for &mut BodyReader<'_, R, F> {
    type Value = BodyEnd<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<BodyEnd<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, R, F: Fn(Entries<'_>) -> ApiResult<R>> Visitor<'de> for &mut BodyReader<'_, R, F> {
    type Value = BodyEnd<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a Query's output")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BodyEnd<'de>, A::Error> {
        let mut end = BodyEnd::default();
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "Items" => {
                    let (kept_last, last) = map.next_value_seed(Items(&mut *self))?;
                    end.kept_last = kept_last;
                    end.last = last;
                }
                "LastEvaluatedKey" => end.last_evaluated_key = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(end)
    }
}

/// The `Items` array of a body: the positions of the kept last and of the last item.
struct Items<'r, 's, R, F>(&'r mut BodyReader<'s, R, F>);

type Positions = (Option<BTreeMap<String, String>>, Option<BTreeMap<String, String>>);

impl<'de, R, F: Fn(Entries<'_>) -> ApiResult<R>> DeserializeSeed<'de> for Items<'_, '_, R, F> {
    type Value = Positions;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Positions, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, R, F: Fn(Entries<'_>) -> ApiResult<R>> Visitor<'de> for Items<'_, '_, R, F> {
    type Value = Positions;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a list of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Positions, A::Error> {
        let reader = self.0;
        let mut kept_last = None;
        // The last item's key values, borrowed from the body where they can be: only the
        // final one becomes a position.
        let mut last_key: Vec<(&'static str, Cow<'de, str>)> = Vec::new();
        let mut index = 0;
        while let Some(entries) = items.next_element::<Entries<'de>>()? {
            if reader.keep > 0 && index == reader.keep - 1 {
                kept_last = Some(entries_position(reader.spec, &entries));
            }
            last_key.clear();
            for &attribute in &reader.key_attributes {
                if let Some(value) = entries.text(attribute) {
                    last_key.push((attribute, value));
                }
            }
            match (reader.read)(entries) {
                Ok(record) => reader.records.push(record),
                Err(error) => {
                    reader.failed = Some(error);
                    return Err(de::Error::custom("an item could not be read"));
                }
            }
            index += 1;
        }
        let last = (index > 0).then(|| {
            last_key
                .into_iter()
                .map(|(attribute, value)| (attribute.to_string(), value.into_owned()))
                .collect()
        });
        Ok((kept_last, last))
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
            let output = self
                .query_once(spec, read_size, start_key.take(), keep, &read, &mut items)
                .await?;
            reads += 1;
            if items.len() > limit {
                // The page ends inside this read, or (keep 0) with the previous one.
                let next = if keep == 0 { last } else { output.kept_last };
                items.truncate(limit);
                return Ok(Page { items, next });
            }
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
                .query_once(
                    spec,
                    FILTERED_READ_SIZE,
                    start_key.take(),
                    0,
                    &entries_into_item,
                    &mut items,
                )
                .await?;
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
        records: &mut Vec<R>,
    ) -> ApiResult<Read> {
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
        read_body(spec, keep, read, records, &body)
    }
}

/// A Query's body that is not what DynamoDB sends: DynamoDB's fault, not the caller's.
fn unreadable(error: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        "a service the API depends on sent an answer that could not be read; nothing was changed, retry in a moment",
        "DynamoDB",
        format!("Query body: {error}"),
    )
}

/// Reads a Query's body: its items, each mapped by `read` and appended to `records`, and
/// what paging needs (`Read`). An error of `read` is returned as it is.
fn read_body<R>(
    spec: &QuerySpec,
    keep: usize,
    read: &impl Fn(Entries<'_>) -> ApiResult<R>,
    records: &mut Vec<R>,
    body: &[u8],
) -> ApiResult<Read> {
    // One UTF-8 check over the whole body, then the parser borrows its text unchecked.
    let text = std::str::from_utf8(body).map_err(|error| unreadable(&error))?;
    let mut reader = BodyReader {
        spec,
        key_attributes: spec.key_attributes(),
        keep,
        read,
        records,
        failed: None,
    };
    let mut parser = serde_json::Deserializer::from_str(text);
    let parsed = (&mut reader).deserialize(&mut parser).and_then(|end| {
        parser.end()?;
        Ok(end)
    });
    let body = match (parsed, reader.failed) {
        (_, Some(error)) => return Err(error),
        (Ok(end), None) => end,
        (Err(error), None) => return Err(unreadable(&error)),
    };
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
        kept_last: body.kept_last,
        last: body.last,
        last_evaluated,
    })
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

    /// Three items of the table, `"n"` numbering them, one with an escaped key.
    const BODY: &str = r#"{"Count":3,"Items":[
        {"PK":{"S":"ORG#o"},"SK":{"S":"TA#1"},"n":{"N":"1"}},
        {"n":{"N":"2"},"SK":{"S":"TA#\u0032"},"PK":{"S":"ORG#o"}},
        {"PK":{"S":"ORG#o"},"SK":{"S":"TA#3"},"n":{"N":"3"}}],
        "LastEvaluatedKey":{"PK":{"S":"ORG#o"},"SK":{"S":"TA#3"}},"ScannedCount":3}"#;

    fn number(entries: Entries<'_>) -> ApiResult<u32> {
        let item = entries_into_item(entries)?;
        match item.get("n") {
            Some(AttributeValue::N(n)) => Ok(n.parse().unwrap()),
            _ => Err(ApiError::internal("an item without n")),
        }
    }

    fn position(sk: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(PK.to_string(), "ORG#o".to_string()), (SK.to_string(), sk.to_string())])
    }

    #[test]
    fn a_body_is_read_item_by_item_after_the_records_already_held() {
        let spec = QuerySpec::table("ORG#o".into(), SortRange::All);
        let mut records = vec![0];
        let read = read_body(&spec, 2, &number, &mut records, BODY.as_bytes()).unwrap();
        assert_eq!(records, [0, 1, 2, 3]);
        assert_eq!(
            read.kept_last,
            Some(position("TA#2")),
            "the second item is the page's last"
        );
        assert_eq!(read.last, Some(position("TA#3")));
        let key = read.last_evaluated.unwrap();
        assert_eq!(key.get(SK), Some(&AttributeValue::S("TA#3".into())));
        // keep 0: no page ends inside this body.
        let read = read_body(&spec, 0, &number, &mut Vec::new(), BODY.as_bytes()).unwrap();
        assert_eq!((read.kept_last, read.last), (None, Some(position("TA#3"))));
        let empty = read_body(&spec, 1, &number, &mut Vec::new(), br#"{"Items":[],"Count":0}"#).unwrap();
        assert!(empty.kept_last.is_none() && empty.last.is_none() && empty.last_evaluated.is_none());
    }

    #[test]
    fn a_body_that_is_not_dynamodbs_is_unavailable_and_a_readers_error_is_its_own() {
        let spec = QuerySpec::table("ORG#o".into(), SortRange::All);
        let mut records = Vec::new();
        for broken in [
            &b"{\"Items\":[{\"PK\":{\"S\":\"\xff\"}}]}"[..],
            b"{\"Items\":[{\"n\":{\"N\":\"1\"}}]",
            b"{\"Items\":[]} trailing",
            b"{\"Items\":[{\"PK\":{\"X\":\"1\"}}]}",
            b"{\"Items\":[],\"LastEvaluatedKey\":{\"PK\":{\"L\":[]}}}",
        ] {
            let error = read_body(&spec, 1, &number, &mut records, broken).unwrap_err();
            assert_eq!(error.status(), 503, "{}", String::from_utf8_lossy(broken));
        }
        let no_n = br#"{"Items":[{"PK":{"S":"ORG#o"},"SK":{"S":"TA#1"}}]}"#;
        let error = read_body(&spec, 1, &number, &mut records, no_n).unwrap_err();
        assert!(matches!(error, ApiError::Internal { .. }), "{error:?}");
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
