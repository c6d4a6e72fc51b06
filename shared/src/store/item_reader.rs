//! Reads records straight out of the SDK's items.
//!
//! Records are written with `serde_dynamo::to_item` and read back here, with the same
//! representation rules as `serde_dynamo::from_item` (the tests compare the two). The
//! reason is cost: `serde_dynamo` first rebuilds every item as its own map type (twice:
//! into its `Item`, then back into a `HashMap`) before reading it, and a list or an export
//! reads thousands of items per page; reading the SDK's map in place takes that away.

use std::collections::hash_map;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_dynamo::Error;

use super::Item;

/// Reads one record from an item.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    T::deserialize(Value(AttributeValue::M(item)))
}

/// One attribute value, deserialized as `serde_dynamo` would.
struct Value(AttributeValue);

fn expected(what: &str, found: &AttributeValue) -> Error {
    let found = match found {
        AttributeValue::S(_) => "a string",
        AttributeValue::N(_) => "a number",
        AttributeValue::B(_) => "binary",
        AttributeValue::Bool(_) => "a boolean",
        AttributeValue::Null(_) => "null",
        AttributeValue::M(_) => "a map",
        AttributeValue::L(_) => "a list",
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => "a set",
        _ => "an unknown attribute type",
    };
    de::Error::custom(format!("expected {what}, found {found}"))
}

fn number<N: std::str::FromStr>(text: &str) -> Result<N, Error>
where
    N::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|error| de::Error::custom(format!("number {text:?}: {error}")))
}

macro_rules! typed_number {
    ($method:ident, $visit:ident, $type:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                AttributeValue::N(text) => visitor.$visit(number::<$type>(&text)?),
                other => Err(expected("a number", &other)),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::N(text) => {
                if let Ok(signed) = text.parse::<i64>() {
                    visitor.visit_i64(signed)
                } else if let Ok(unsigned) = text.parse::<u64>() {
                    visitor.visit_u64(unsigned)
                } else {
                    visitor.visit_f64(number(&text)?)
                }
            }
            AttributeValue::S(text) => visitor.visit_string(text),
            AttributeValue::Bool(flag) => visitor.visit_bool(flag),
            AttributeValue::B(blob) => visitor.visit_byte_buf(blob.into_inner()),
            AttributeValue::Null(_) => visitor.visit_unit(),
            other => self_describing(other, visitor),
        }
    }

    typed_number!(deserialize_i8, visit_i8, i8);
    typed_number!(deserialize_i16, visit_i16, i16);
    typed_number!(deserialize_i32, visit_i32, i32);
    typed_number!(deserialize_i64, visit_i64, i64);
    typed_number!(deserialize_u8, visit_u8, u8);
    typed_number!(deserialize_u16, visit_u16, u16);
    typed_number!(deserialize_u32, visit_u32, u32);
    typed_number!(deserialize_u64, visit_u64, u64);
    typed_number!(deserialize_f32, visit_f32, f32);
    typed_number!(deserialize_f64, visit_f64, f64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Bool(flag) => visitor.visit_bool(flag),
            other => Err(expected("a boolean", &other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(text) if text.chars().count() == 1 => {
                visitor.visit_char(text.chars().next().unwrap_or_default())
            }
            other => Err(expected("a single character", &other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(text) => visitor.visit_string(text),
            other => Err(expected("a string", &other)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::B(blob) => visitor.visit_byte_buf(blob.into_inner()),
            other => Err(expected("binary", &other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Null(true) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::Null(true) => visitor.visit_unit(),
            other => Err(expected("null", &other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::M(map) => Err(expected("a list", &AttributeValue::M(map))),
            other => self_describing(other, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::M(map) => visitor.visit_map(Attributes::new(map)),
            other => Err(expected("a map", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::L(values) => visitor.visit_seq(Elements(values.into_iter())),
            other => Value(other).deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            AttributeValue::S(variant) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(variant)),
            AttributeValue::M(map) => {
                let mut entries = map.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, content)), None) => visitor.visit_enum(Variant { variant, content }),
                    _ => Err(de::Error::custom("expected an enum variant: a map of one entry")),
                }
            }
            other => Err(expected("an enum variant", &other)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// Maps, lists and sets, as `deserialize_any` sees them.
fn self_describing<'de, V: Visitor<'de>>(value: AttributeValue, visitor: V) -> Result<V::Value, Error> {
    match value {
        AttributeValue::M(map) => visitor.visit_map(Attributes::new(map)),
        AttributeValue::L(values) => visitor.visit_seq(Elements(values.into_iter())),
        AttributeValue::Ss(texts) => visitor.visit_seq(Elements(
            texts.into_iter().map(AttributeValue::S).collect::<Vec<_>>().into_iter(),
        )),
        AttributeValue::Ns(numbers) => visitor.visit_seq(Elements(
            numbers
                .into_iter()
                .map(AttributeValue::N)
                .collect::<Vec<_>>()
                .into_iter(),
        )),
        AttributeValue::Bs(blobs) => visitor.visit_seq(Elements(
            blobs.into_iter().map(AttributeValue::B).collect::<Vec<_>>().into_iter(),
        )),
        other => Err(expected("a list or a set", &other)),
    }
}

struct Elements(std::vec::IntoIter<AttributeValue>);

impl<'de> SeqAccess<'de> for Elements {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        self.0.next().map(|value| seed.deserialize(Value(value))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A map's entries, read in the map's own order (records do not depend on it).
struct Attributes {
    entries: hash_map::IntoIter<String, AttributeValue>,
    pending: Option<AttributeValue>,
}

impl Attributes {
    fn new(map: Item) -> Self {
        Attributes {
            entries: map.into_iter(),
            pending: None,
        }
    }
}

impl<'de> MapAccess<'de> for Attributes {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some((name, value)) => {
                self.pending = Some(value);
                seed.deserialize(IntoDeserializer::<Error>::into_deserializer(name))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        match self.pending.take() {
            Some(value) => seed.deserialize(Value(value)),
            None => Err(de::Error::custom("a map value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum variant with content: `{ "Variant": content }`.
struct Variant {
    variant: String,
    content: AttributeValue,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Value;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Value), Error> {
        let variant = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(self.variant))?;
        Ok((variant, Value(self.content)))
    }
}

impl<'de> VariantAccess<'de> for Value {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Plain,
        Counted(u32),
        Described { text: String, at: Option<i64> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "camelCase")]
    enum Tagged {
        Nothing,
        Something { amount: f64, label: String },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Extra {
        department: Option<String>,
        #[serde(default)]
        flags: Vec<bool>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(transparent)]
    struct Wrapped(String);

    /// Every shape our records use: renamed fields, skipped and null options, numbers of
    /// each width, lists, maps, nested records, enums of each kind, flatten, transparent.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Record {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped_when_none: Option<String>,
        null_when_none: Option<u8>,
        small: u8,
        count: u32,
        signed: i64,
        big: u64,
        ratio: f64,
        flag: bool,
        letter: char,
        tags: Vec<String>,
        scores: BTreeMap<String, u32>,
        kinds: Vec<Kind>,
        tagged: Tagged,
        wrapped: Wrapped,
        nested: Option<Box<Record>>,
        #[serde(flatten)]
        extra: Extra,
    }

    fn kinds() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Plain),
            any::<u32>().prop_map(Kind::Counted),
            ("\\PC{0,20}", proptest::option::of(any::<i64>())).prop_map(|(text, at)| Kind::Described { text, at }),
        ]
    }

    fn flat_records() -> impl Strategy<Value = Record> {
        (
            (
                "\\PC{0,30}",
                proptest::option::of("\\PC{0,10}"),
                proptest::option::of(any::<u8>()),
                any::<u8>(),
                any::<u32>(),
                any::<i64>(),
                any::<u64>(),
                -1e12f64..1e12,
            ),
            (
                any::<bool>(),
                any::<char>(),
                proptest::collection::vec("\\PC{0,8}", 0..4),
                proptest::collection::btree_map("[a-z]{1,6}", any::<u32>(), 0..4),
                proptest::collection::vec(kinds(), 0..3),
                prop_oneof![
                    Just(Tagged::Nothing),
                    (-1e9f64..1e9, "\\PC{0,8}").prop_map(|(amount, label)| Tagged::Something { amount, label }),
                ],
                "\\PC{0,8}",
                (
                    proptest::option::of("\\PC{0,8}"),
                    proptest::collection::vec(any::<bool>(), 0..3),
                ),
            ),
        )
            .prop_map(
                |(
                    (name, skipped_when_none, null_when_none, small, count, signed, big, ratio),
                    (flag, letter, tags, scores, kinds, tagged, wrapped, (department, flags)),
                )| Record {
                    name,
                    skipped_when_none,
                    null_when_none,
                    small,
                    count,
                    signed,
                    big,
                    ratio,
                    flag,
                    letter,
                    tags,
                    scores,
                    kinds,
                    tagged,
                    wrapped: Wrapped(wrapped),
                    nested: None,
                    extra: Extra { department, flags },
                },
            )
    }

    fn records() -> impl Strategy<Value = Record> {
        (flat_records(), proptest::option::of(flat_records())).prop_map(|(mut record, nested)| {
            record.nested = nested.map(Box::new);
            record
        })
    }

    proptest! {
        /// What `serde_dynamo` writes, this reads back equal, and the same as
        /// `serde_dynamo::from_item` reads it.
        #[test]
        fn reads_what_serde_dynamo_writes_as_serde_dynamo_reads_it(record in records()) {
            let item: Item = serde_dynamo::to_item(&record).unwrap();
            let ours: Record = from_item(item.clone()).unwrap();
            let theirs: Record = serde_dynamo::from_item(item).unwrap();
            prop_assert_eq!(&ours, &record);
            prop_assert_eq!(&ours, &theirs);
        }
    }

    #[test]
    fn sets_read_as_lists() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Sets {
            names: Vec<String>,
            numbers: Vec<u32>,
            bytes: Vec<u8>,
        }
        let item: Item = HashMap::from([
            ("names".to_string(), AttributeValue::Ss(vec!["a".into(), "b".into()])),
            ("numbers".to_string(), AttributeValue::Ns(vec!["1".into(), "20".into()])),
            (
                "bytes".to_string(),
                AttributeValue::L(vec![AttributeValue::N("7".into())]),
            ),
        ]);
        let ours: Sets = from_item(item.clone()).unwrap();
        let theirs: Sets = serde_dynamo::from_item(item).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.numbers, vec![1, 20]);
        assert_eq!(ours.bytes, vec![7]);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_that_names_both() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Counted {
            count: u32,
        }
        let wrong: Item = HashMap::from([("count".to_string(), AttributeValue::S("7".into()))]);
        let error = from_item::<Counted>(wrong).unwrap_err().to_string();
        assert!(error.contains("expected a number, found a string"), "{error}");
        let too_big: Item = HashMap::from([("count".to_string(), AttributeValue::N("4294967296".into()))]);
        assert!(from_item::<Counted>(too_big).is_err());
        let missing: Item = HashMap::new();
        assert!(from_item::<Counted>(missing).unwrap_err().to_string().contains("count"));
    }
}
