//! Reads records straight out of items: the SDK's, or a Query's JSON body as DynamoDB
//! sent it.
//!
//! Records are written with `serde_dynamo::to_item` and read back here, with the same
//! representation rules as `serde_dynamo::from_item` (the tests compare the two). The
//! reason is cost: `serde_dynamo` first rebuilds every item as its own map type (twice:
//! into its `Item`, then back into a `HashMap`) before reading it, and a list or an export
//! reads thousands of items per page. Both sources become an [`Attribute`] first: moved
//! out of an SDK item, or borrowed from the bytes of a Query's body (no map, no hashing,
//! no copy of a string that has no escape in it).

use std::borrow::Cow;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::{Deserialize, Deserializer};
use serde_dynamo::Error;

use super::Item;

/// Reads one record from an item.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    T::deserialize(Attribute::from(AttributeValue::M(item)))
}

/// Reads one record from an item of a Query's body.
pub fn from_entries<T: DeserializeOwned>(entries: Entries<'_>) -> Result<T, Error> {
    T::deserialize(Attribute::M(entries.0))
}

/// One attribute value, in DynamoDB's types, its text borrowed where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute<'a> {
    S(Cow<'a, str>),
    N(Cow<'a, str>),
    Bool(bool),
    Null,
    B(Vec<u8>),
    M(Vec<(Cow<'a, str>, Attribute<'a>)>),
    L(Vec<Attribute<'a>>),
    Ss(Vec<Cow<'a, str>>),
    Ns(Vec<Cow<'a, str>>),
    Bs(Vec<Vec<u8>>),
    /// A type this SDK version does not know.
    Unknown,
}

impl From<AttributeValue> for Attribute<'static> {
    fn from(value: AttributeValue) -> Self {
        match value {
            AttributeValue::S(text) => Attribute::S(Cow::Owned(text)),
            AttributeValue::N(text) => Attribute::N(Cow::Owned(text)),
            AttributeValue::Bool(flag) => Attribute::Bool(flag),
            AttributeValue::Null(_) => Attribute::Null,
            AttributeValue::B(blob) => Attribute::B(blob.into_inner()),
            AttributeValue::M(map) => Attribute::M(
                map.into_iter()
                    .map(|(name, value)| (Cow::Owned(name), value.into()))
                    .collect(),
            ),
            AttributeValue::L(values) => Attribute::L(values.into_iter().map(Attribute::from).collect()),
            AttributeValue::Ss(texts) => Attribute::Ss(texts.into_iter().map(Cow::Owned).collect()),
            AttributeValue::Ns(numbers) => Attribute::Ns(numbers.into_iter().map(Cow::Owned).collect()),
            AttributeValue::Bs(blobs) => Attribute::Bs(blobs.into_iter().map(Blob::into_inner).collect()),
            _ => Attribute::Unknown,
        }
    }
}

impl Attribute<'_> {
    /// The SDK's value of a key attribute (a string, a number or binary): what a
    /// `LastEvaluatedKey` holds and the next Query's `ExclusiveStartKey` sends back.
    pub fn into_key_value(self) -> Option<AttributeValue> {
        match self {
            Attribute::S(_) | Attribute::N(_) | Attribute::B(_) => self.into_attribute_value(),
            _ => None,
        }
    }

    /// The SDK's value (`None` for a type the SDK would not know either).
    pub fn into_attribute_value(self) -> Option<AttributeValue> {
        let owned = |texts: Vec<Cow<'_, str>>| texts.into_iter().map(Cow::into_owned).collect();
        Some(match self {
            Attribute::S(text) => AttributeValue::S(text.into_owned()),
            Attribute::N(text) => AttributeValue::N(text.into_owned()),
            Attribute::Bool(flag) => AttributeValue::Bool(flag),
            Attribute::Null => AttributeValue::Null(true),
            Attribute::B(bytes) => AttributeValue::B(Blob::new(bytes)),
            Attribute::M(entries) => AttributeValue::M(
                entries
                    .into_iter()
                    .map(|(name, value)| Some((name.into_owned(), value.into_attribute_value()?)))
                    .collect::<Option<_>>()?,
            ),
            Attribute::L(values) => AttributeValue::L(
                values
                    .into_iter()
                    .map(Attribute::into_attribute_value)
                    .collect::<Option<_>>()?,
            ),
            Attribute::Ss(texts) => AttributeValue::Ss(owned(texts)),
            Attribute::Ns(numbers) => AttributeValue::Ns(owned(numbers)),
            Attribute::Bs(blobs) => AttributeValue::Bs(blobs.into_iter().map(Blob::new).collect()),
            Attribute::Unknown => return None,
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Attribute::S(_) => "a string",
            Attribute::N(_) => "a number",
            Attribute::B(_) => "binary",
            Attribute::Bool(_) => "a boolean",
            Attribute::Null => "null",
            Attribute::M(_) => "a map",
            Attribute::L(_) => "a list",
            Attribute::Ss(_) | Attribute::Ns(_) | Attribute::Bs(_) => "a set",
            Attribute::Unknown => "an unknown attribute type",
        }
    }
}

/// An item's attributes, in the order they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entries<'a>(pub Vec<(Cow<'a, str>, Attribute<'a>)>);

impl<'a> Entries<'a> {
    /// The text of a string attribute.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.0.iter().find_map(|(entry, value)| match value {
            Attribute::S(text) if entry == name => Some(text.as_ref()),
            _ => None,
        })
    }

    /// The text of a string attribute, still borrowed from the body where it was.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.0.iter().find_map(|(entry, value)| match value {
            Attribute::S(text) if entry == name => Some(text.clone()),
            _ => None,
        })
    }
}

fn expected(what: &str, found: &Attribute<'_>) -> Error {
    de::Error::custom(format!("expected {what}, found {}", found.kind()))
}

fn number<N: std::str::FromStr>(text: &str) -> Result<N, Error>
where
    N::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|error| de::Error::custom(format!("number {text:?}: {error}")))
}

fn visit_text<'de, V: Visitor<'de>>(text: Cow<'_, str>, visitor: V) -> Result<V::Value, Error> {
    match text {
        Cow::Borrowed(text) => visitor.visit_str(text),
        Cow::Owned(text) => visitor.visit_string(text),
    }
}

macro_rules! typed_number {
    ($method:ident, $visit:ident, $type:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self {
                Attribute::N(text) => visitor.$visit(number::<$type>(&text)?),
                other => Err(expected("a number", &other)),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Attribute<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::N(text) => {
                if let Ok(signed) = text.parse::<i64>() {
                    visitor.visit_i64(signed)
                } else if let Ok(unsigned) = text.parse::<u64>() {
                    visitor.visit_u64(unsigned)
                } else {
                    visitor.visit_f64(number(&text)?)
                }
            }
            Attribute::S(text) => visit_text(text, visitor),
            Attribute::Bool(flag) => visitor.visit_bool(flag),
            Attribute::B(bytes) => visitor.visit_byte_buf(bytes),
            Attribute::Null => visitor.visit_unit(),
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
        match self {
            Attribute::Bool(flag) => visitor.visit_bool(flag),
            other => Err(expected("a boolean", &other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::S(text) if text.chars().count() == 1 => {
                visitor.visit_char(text.chars().next().unwrap_or_default())
            }
            other => Err(expected("a single character", &other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::S(text) => visit_text(text, visitor),
            other => Err(expected("a string", &other)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::B(bytes) => visitor.visit_byte_buf(bytes),
            other => Err(expected("binary", &other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Attribute::Null => visitor.visit_unit(),
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
        match self {
            Attribute::M(_) => Err(expected("a list", &self)),
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
        match self {
            Attribute::M(entries) => visitor.visit_map(Attributes::new(entries)),
            other => Err(expected("a map", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Attribute::L(values) => visitor.visit_seq(Elements(values.into_iter())),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Attribute::S(variant) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(variant)),
            Attribute::M(entries) => {
                let mut entries = entries.into_iter();
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
fn self_describing<'de, V: Visitor<'de>>(value: Attribute<'_>, visitor: V) -> Result<V::Value, Error> {
    match value {
        Attribute::M(entries) => visitor.visit_map(Attributes::new(entries)),
        Attribute::L(values) => visitor.visit_seq(Elements(values.into_iter())),
        Attribute::Ss(texts) => visitor.visit_seq(Elements(
            texts.into_iter().map(Attribute::S).collect::<Vec<_>>().into_iter(),
        )),
        Attribute::Ns(numbers) => visitor.visit_seq(Elements(
            numbers.into_iter().map(Attribute::N).collect::<Vec<_>>().into_iter(),
        )),
        Attribute::Bs(blobs) => visitor.visit_seq(Elements(
            blobs.into_iter().map(Attribute::B).collect::<Vec<_>>().into_iter(),
        )),
        other => Err(expected("a list or a set", &other)),
    }
}

struct Elements<'a>(std::vec::IntoIter<Attribute<'a>>);

impl<'de> SeqAccess<'de> for Elements<'_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        self.0.next().map(|value| seed.deserialize(value)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A map's entries, read in the map's own order (records do not depend on it).
struct Attributes<'a> {
    entries: std::vec::IntoIter<(Cow<'a, str>, Attribute<'a>)>,
    pending: Option<Attribute<'a>>,
}

impl<'a> Attributes<'a> {
    fn new(entries: Vec<(Cow<'a, str>, Attribute<'a>)>) -> Self {
        Attributes {
            entries: entries.into_iter(),
            pending: None,
        }
    }
}

impl<'de> MapAccess<'de> for Attributes<'_> {
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
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("a map value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum variant with content: `{ "Variant": content }`.
struct Variant<'a> {
    variant: Cow<'a, str>,
    content: Attribute<'a>,
}

impl<'de, 'a> EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = Attribute<'a>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Attribute<'a>), Error> {
        let variant = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(self.variant))?;
        Ok((variant, self.content))
    }
}

impl<'de> VariantAccess<'de> for Attribute<'_> {
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

// DynamoDB's JSON (`{"S": "text"}`, `{"M": {...}}`, ...), as a Query's body carries it.

/// Text that borrows from the body unless JSON escapes made it a copy.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

fn texts(texts: Vec<Text<'_>>) -> Vec<Cow<'_, str>> {
    texts.into_iter().map(|text| text.0).collect()
}

fn base64_bytes<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|error| E::custom(format!("binary attribute: {error}")))
}

impl<'de> Deserialize<'de> for Attribute<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AttributeVisitor;
        impl<'de> Visitor<'de> for AttributeVisitor {
            type Value = Attribute<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a DynamoDB attribute value: a map of one type to its value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attribute<'de>, A::Error> {
                let Some(kind) = map.next_key::<Text<'de>>()? else {
                    return Err(de::Error::custom("an attribute value without a type"));
                };
                let value = match kind.0.as_ref() {
                    "S" => Attribute::S(map.next_value::<Text<'de>>()?.0),
                    "N" => Attribute::N(map.next_value::<Text<'de>>()?.0),
                    "BOOL" => Attribute::Bool(map.next_value()?),
                    "NULL" => {
                        map.next_value::<bool>()?;
                        Attribute::Null
                    }
                    "B" => Attribute::B(base64_bytes(&map.next_value::<Text<'de>>()?.0)?),
                    "M" => Attribute::M(map.next_value::<Entries<'de>>()?.0),
                    "L" => Attribute::L(map.next_value()?),
                    "SS" => Attribute::Ss(texts(map.next_value()?)),
                    "NS" => Attribute::Ns(texts(map.next_value()?)),
                    "BS" => Attribute::Bs(
                        map.next_value::<Vec<Text<'de>>>()?
                            .iter()
                            .map(|text| base64_bytes(&text.0))
                            .collect::<Result<_, _>>()?,
                    ),
                    other => {
                        return Err(de::Error::custom(format!(
                            "an attribute value of unknown type {other:?}"
                        )));
                    }
                };
                if map.next_key::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("an attribute value with more than one type"));
                }
                Ok(value)
            }
        }
        deserializer.deserialize_map(AttributeVisitor)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a map of attribute names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(name) = map.next_key::<Text<'de>>()? {
                    entries.push((name.0, map.next_value::<Attribute<'de>>()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
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

    /// An attribute value as DynamoDB's JSON protocol sends it.
    fn wire_json(value: &AttributeValue) -> serde_json::Value {
        use serde_json::json;
        let base64 = |blob: &Blob| base64::engine::general_purpose::STANDARD.encode(blob.as_ref());
        match value {
            AttributeValue::S(text) => json!({ "S": text }),
            AttributeValue::N(text) => json!({ "N": text }),
            AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
            AttributeValue::Null(flag) => json!({ "NULL": flag }),
            AttributeValue::B(blob) => json!({ "B": base64(blob) }),
            AttributeValue::M(map) => json!({ "M": wire_item(map) }),
            AttributeValue::L(values) => json!({ "L": values.iter().map(wire_json).collect::<Vec<_>>() }),
            AttributeValue::Ss(texts) => json!({ "SS": texts }),
            AttributeValue::Ns(numbers) => json!({ "NS": numbers }),
            AttributeValue::Bs(blobs) => json!({ "BS": blobs.iter().map(base64).collect::<Vec<_>>() }),
            other => panic!("no wire form for {other:?}"),
        }
    }

    fn wire_item(item: &Item) -> serde_json::Map<String, serde_json::Value> {
        item.iter()
            .map(|(name, value)| (name.clone(), wire_json(value)))
            .collect()
    }

    /// Reads a record from an item's JSON text, as a Query's body carries it.
    fn from_wire<T: DeserializeOwned>(item: &Item) -> Result<T, Error> {
        let text = serde_json::to_string(&wire_item(item)).unwrap();
        let entries: Entries<'_> = serde_json::from_str(&text).map_err(de::Error::custom)?;
        from_entries(entries)
    }

    proptest! {
        /// What `serde_dynamo` writes, this reads back equal, and the same as
        /// `serde_dynamo::from_item` reads it: from the SDK's item and from the item's
        /// JSON as DynamoDB sends it.
        #[test]
        fn reads_what_serde_dynamo_writes_as_serde_dynamo_reads_it(record in records()) {
            let item: Item = serde_dynamo::to_item(&record).unwrap();
            let ours: Record = from_item(item.clone()).unwrap();
            let from_json: Record = from_wire(&item).unwrap();
            let theirs: Record = serde_dynamo::from_item(item).unwrap();
            prop_assert_eq!(&ours, &record);
            prop_assert_eq!(&ours, &theirs);
            prop_assert_eq!(&from_json, &record);
        }
    }

    #[test]
    fn json_text_is_borrowed_unless_it_had_escapes() {
        let text = r#"{"plain":{"S":"usr_01"},"escaped":{"S":"a \"quoted\" \u00e9"},"n":{"N":"12"}}"#;
        let entries: Entries<'_> = serde_json::from_str(text).unwrap();
        let by_name = |name: &str| entries.0.iter().find(|(entry, _)| entry == name).unwrap().1.clone();
        assert!(matches!(by_name("plain"), Attribute::S(Cow::Borrowed("usr_01"))));
        assert_eq!(
            by_name("escaped"),
            Attribute::S(Cow::Owned("a \"quoted\" \u{e9}".into()))
        );
        assert_eq!(entries.string("plain"), Some("usr_01"));
        assert_eq!(entries.string("n"), None);
        assert_eq!(by_name("n").into_key_value(), Some(AttributeValue::N("12".into())));
    }

    #[test]
    fn malformed_json_attributes_are_errors_not_guesses() {
        for text in [
            r#"{"a":{}}"#,
            r#"{"a":{"S":"x","N":"1"}}"#,
            r#"{"a":{"X":"x"}}"#,
            r#"{"a":{"S":1}}"#,
            r#"{"a":{"B":"not base64!"}}"#,
        ] {
            assert!(serde_json::from_str::<Entries<'_>>(text).is_err(), "{text}");
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
