//! Property tests: Display → parse round trip, and no panics on arbitrary input.

use proptest::prelude::*;
use raptor_shared::scim::grammar::{AttrPath, CompValue, CompareOp, Filter, matches, parse_filter, parse_patch_path};
use serde_json::{Number, json};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,7}",
        1 => Just("$ref".to_string()),
        // Keywords are legal attribute names wherever an attribute is expected.
        2 => prop::sample::select(vec!["and", "or", "not", "NOT", "pr", "eq", "true", "null"])
            .prop_map(String::from),
    ]
}

fn uri() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_string())),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string())),
        1 => "urn:[a-z]{1,6}(:[a-zA-Z0-9.-]{1,6}){0,3}".prop_map(Some),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (uri(), name(), prop::option::of(name())).prop_map(|(uri, name, sub_attr)| AttrPath { uri, name, sub_attr })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

fn tricky_string() -> impl Strategy<Value = String> {
    let chars = vec![
        '"', '\\', '\'', 'é', '😀', '\n', '\t', '\u{0}', '\u{1f}', 'a', ' ', ')', ']', '/',
    ];
    prop::collection::vec(prop::sample::select(chars), 0..10).prop_map(|v| v.into_iter().collect())
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::String),
        tricky_string().prop_map(CompValue::String),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(CompValue::Number)),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn attr_exp() -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => (attr_path(), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        1 => attr_path().prop_map(Filter::Present),
    ]
}

fn combine(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
        (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        inner.prop_map(|f| Filter::Not(Box::new(f))),
    ]
}

/// The inside of `attr[...]`: no nested value paths (RFC 7644 errata 4690).
fn value_filter() -> impl Strategy<Value = Filter> {
    attr_exp().prop_recursive(3, 12, 2, combine)
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path = (
        attr_path(),
        value_filter(),
        prop::option::of((name(), compare_op(), comp_value())),
    )
        .prop_map(|(attr, filter, then)| Filter::ValuePath {
            attr,
            filter: Box::new(filter),
            then,
        });
    prop_oneof![3 => attr_exp(), 1 => value_path].prop_recursive(4, 24, 2, combine)
}

fn token_soup() -> impl Strategy<Value = String> {
    let parts = vec![
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\"x\"",
        "\"\\u00e9\"",
        "\\",
        "not",
        "NOT",
        "and",
        "or",
        "pr",
        "eq",
        "gt",
        "a",
        "a.b",
        "urn:x:y",
        ":",
        ".v",
        "1",
        "-",
        "1e5",
        "01",
        "true",
        " ",
        "  ",
        "é",
        "\t",
    ];
    prop::collection::vec(prop::sample::select(parts), 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_parse_round_trip(f in filter()) {
        let text = f.to_string();
        let back = parse_filter(&text);
        prop_assert_eq!(back.as_ref(), Ok(&f), "text: {}", text);
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        let _ = parse_filter(&s);
        let _ = parse_patch_path(&s);
    }

    #[test]
    fn token_soup_never_panics_and_reparses(s in token_soup()) {
        let _ = parse_patch_path(&s);
        if let Ok(f) = parse_filter(&s) {
            let text = f.to_string();
            let back = parse_filter(&text);
            prop_assert_eq!(back.as_ref(), Ok(&f), "from {:?} via {:?}", s, text);
            let doc = json!({"a": [{"b": 1, "v": "x"}], "urn:x": {"y": true}});
            let _ = matches(&f, &doc, &|_| false);
        }
    }
}
