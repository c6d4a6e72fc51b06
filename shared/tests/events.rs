//! The event catalogue is a public contract (`docs/events.md`): `docs/events.json` is
//! what the code declares, and a payload's schema never changes under the same version.

use serde_json::Value;

fn declared() -> serde_json::Map<String, Value> {
    serde_json::from_str(&raptor_shared::model::events::catalogue_json()).expect("the catalogue is JSON")
}

fn published() -> serde_json::Map<String, Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read docs/events.json"))
        .expect("docs/events.json is JSON")
}

/// A schema without its prose: a reworded doc comment is not a new contract.
fn shape(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "description" | "examples" | "example"))
                .map(|(name, value)| (name.clone(), shape(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// `now` is `before`, or `before` with new values in its enumerations: docs/events.md
/// tells consumers to accept values they do not know (a new permission name, a status).
fn compatible(before: &Value, now: &Value) -> bool {
    match (before, now) {
        (Value::Object(old), Value::Object(new)) => {
            old.len() == new.len()
                && old
                    .iter()
                    .all(|(name, old_value)| match (name.as_str(), new.get(name)) {
                        ("enum", Some(Value::Array(new_values))) => old_value
                            .as_array()
                            .is_some_and(|old_values| old_values.iter().all(|value| new_values.contains(value))),
                        (_, Some(new_value)) => compatible(old_value, new_value),
                        (_, None) => false,
                    })
        }
        (Value::Array(old), Value::Array(new)) => {
            old.len() == new.len() && old.iter().zip(new).all(|(old, new)| compatible(old, new))
        }
        (old, new) => old == new,
    }
}

/// The first check: a changed schema under an unchanged version is a broken contract,
/// whatever the file says next.
#[test]
fn a_payload_schema_never_changes_without_its_version() {
    let published = published();
    let mut broken = Vec::new();
    for (action, now) in declared() {
        let Some(before) = published.get(&action) else { continue };
        let same_version = before["version"] == now["version"];
        let same_schema = compatible(&shape(&before["payload"]), &shape(&now["payload"]))
            && compatible(&shape(&before["components"]), &shape(&now["components"]));
        if same_version && !same_schema {
            broken.push(format!("{action} (version {})", now["version"]));
        }
    }
    assert!(
        broken.is_empty(),
        "these event payloads changed without a new version; bump the version in `domain_events!` \
         (model/events/mod.rs), then regenerate docs/events.json: {}",
        broken.join(", ")
    );
}

#[test]
fn docs_events_json_is_what_the_code_declares() {
    assert_eq!(
        published(),
        declared(),
        "docs/events.json is stale: cargo run -p raptor-shared --bin events > docs/events.json"
    );
}

#[test]
fn every_event_type_has_its_row_in_docs_events_md() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md");
    let text = std::fs::read_to_string(path).expect("read docs/events.md");
    let missing: Vec<String> = declared()
        .into_iter()
        .filter(|(action, event)| !text.contains(&format!("| `{action}` | {} |", event["version"])))
        .map(|(action, _)| action)
        .collect();
    assert!(
        missing.is_empty(),
        "docs/events.md lacks rows `| `<action>` | <version> |` for {missing:?}"
    );
}

#[test]
fn docs_asyncapi_json_is_what_the_code_declares() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/asyncapi.json");
    let committed = std::fs::read_to_string(path).expect("read docs/asyncapi.json");
    assert!(
        committed == raptor_shared::asyncapi::document_json(),
        "docs/asyncapi.json is stale: cargo run -p raptor-shared --bin asyncapi > docs/asyncapi.json"
    );
}

#[test]
fn the_asyncapi_document_has_one_message_per_event_type_with_its_payload_schema() {
    let document = raptor_shared::asyncapi::document();
    let messages = document["components"]["messages"].as_object().expect("messages");
    let declared = declared();
    assert_eq!(
        messages.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "one message per event type"
    );
    for (action, event) in &declared {
        let message = &messages[action];
        assert_eq!(message["payload"], event["payload"], "{action}");
        assert_eq!(message["x-payload-version"], event["version"], "{action}");
        // Every schema a payload refers to is in the document's components.
        for reference in references(&event["payload"]) {
            let name = reference.trim_start_matches("#/components/schemas/");
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "{action}: {reference}"
            );
        }
    }
}

fn references(schema: &Value) -> Vec<String> {
    match schema {
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(name, value)| match (name.as_str(), value) {
                ("$ref", Value::String(reference)) => vec![reference.clone()],
                _ => references(value),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(references).collect(),
        _ => Vec::new(),
    }
}
