//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's writable attributes as JSON.
//!
//! The door materialises the resource with every writable attribute present (`null` when
//! unset), applies the operations here, and reads the result back exactly as a `PUT`
//! body: so a PATCH is held to the same validation and the same command as a replacement,
//! and no attribute is changed by a path the resource does not have.

use serde_json::{Map, Value};

use super::grammar::{AttrPath, CompValue, CompareOp, Filter, PatchOp, PatchOpKind, PatchPath, matches};

/// Why an operation could not be applied: SCIM's `scimType` and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRefused {
    pub scim_type: &'static str,
    pub message: String,
}

fn refused(scim_type: &'static str, message: impl Into<String>) -> PatchRefused {
    PatchRefused {
        scim_type,
        message: message.into(),
    }
}

/// Applies `operations` in order to `resource`, an object holding every writable
/// attribute of its resource type (extension attributes under their schema URN).
pub fn apply(resource: &mut Value, operations: &[PatchOp]) -> Result<(), PatchRefused> {
    for operation in operations {
        match &operation.path {
            Some(path) => apply_at(resource, operation.op, path, operation.value.as_ref())?,
            None => {
                // Without a path the value is an object of attributes (RFC 7644 §3.5.2.1,
                // .3); Entra ID sends dotted and URN-prefixed keys in it.
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(refused(
                        "invalidValue",
                        "an operation without a path needs an object value",
                    ));
                };
                let pairs = super::grammar::expand_pathless_value(values)
                    .map_err(|error| refused(error.scim_type, error.message))?;
                for (path, value) in pairs {
                    apply_at(resource, operation.op, &PatchPath::Attr(path), Some(&value))?;
                }
            }
        }
    }
    Ok(())
}

fn apply_at(
    resource: &mut Value,
    op: PatchOpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), PatchRefused> {
    match path {
        PatchPath::Attr(attr) => {
            let slot = attribute_slot(resource, attr)?;
            match op {
                PatchOpKind::Remove => remove(slot, value),
                PatchOpKind::Add => add(slot, value),
                PatchOpKind::Replace => {
                    *slot = value.cloned().unwrap_or(Value::Null);
                    Ok(())
                }
            }
        }
        PatchPath::Value { attr, filter, sub_attr } => {
            let slot = attribute_slot(resource, attr)?;
            apply_to_matching(slot, op, filter, sub_attr.as_deref(), value, attr)
        }
    }
}

/// The attributes a request may name but never change (RFC 7643: `id` and `meta` are the
/// service's; a User's `groups` follow the groups' own members).
const READ_ONLY: [&str; 3] = ["id", "meta", "groups"];

/// The JSON slot an attribute path names, created (as `null`) for a sub-attribute of a
/// complex attribute that is unset; an attribute the resource does not have is refused.
fn attribute_slot<'a>(resource: &'a mut Value, path: &AttrPath) -> Result<&'a mut Value, PatchRefused> {
    if path.uri.is_none() && READ_ONLY.iter().any(|name| path.name.eq_ignore_ascii_case(name)) {
        return Err(refused(
            "mutability",
            format!("`{path}` is read-only (`/Schemas` says so); the service sets it"),
        ));
    }
    let unknown = || {
        refused(
            "invalidPath",
            format!("`{path}` is not an attribute this service keeps"),
        )
    };
    // A path that is a whole extension (`urn:…:enterprise:2.0:User`) names its object.
    if let (Some(uri), None) = (&path.uri, &path.sub_attr) {
        let whole = format!("{uri}:{}", path.name);
        if field(resource, &whole).is_some() {
            let slot = field(resource, &whole).ok_or_else(unknown)?;
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            return Ok(slot);
        }
    }
    let mut scope = resource;
    if let Some(uri) = &path.uri
        && !uri
            .to_ascii_lowercase()
            .starts_with("urn:ietf:params:scim:schemas:core:")
    {
        scope = field(scope, uri).ok_or_else(unknown)?;
        if scope.is_null() {
            *scope = Value::Object(Map::new());
        }
    }
    let slot = field(scope, &path.name).ok_or_else(unknown)?;
    match &path.sub_attr {
        None => Ok(slot),
        Some(sub) => {
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(object) = slot else {
                return Err(unknown());
            };
            let key = object
                .keys()
                .find(|key| key.eq_ignore_ascii_case(sub))
                .cloned()
                .unwrap_or_else(|| sub.clone());
            Ok(object.entry(key).or_insert(Value::Null))
        }
    }
}

/// A field of an object, its name matched ignoring case (SCIM names are case-insensitive).
fn field<'a>(scope: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    let object = scope.as_object_mut()?;
    let key = object.keys().find(|key| key.eq_ignore_ascii_case(name))?.clone();
    object.get_mut(&key)
}

fn add(slot: &mut Value, value: Option<&Value>) -> Result<(), PatchRefused> {
    let Some(value) = value else {
        return Err(refused("invalidValue", "`add` needs a value"));
    };
    match (slot, value) {
        // A multi-valued attribute gains the values it does not hold yet.
        (Value::Array(held), Value::Array(added)) => {
            for item in added {
                if !held.iter().any(|kept| same_value(kept, item)) {
                    held.push(item.clone());
                }
            }
        }
        (Value::Array(held), item) => {
            if !held.iter().any(|kept| same_value(kept, item)) {
                held.push(item.clone());
            }
        }
        // A complex attribute gains (or changes) the sub-attributes given.
        (Value::Object(held), Value::Object(added)) => {
            for (key, item) in added {
                let name = held
                    .keys()
                    .find(|name| name.eq_ignore_ascii_case(key))
                    .cloned()
                    .unwrap_or_else(|| key.clone());
                held.insert(name, item.clone());
            }
        }
        (slot, value) => *slot = value.clone(),
    }
    Ok(())
}

/// Two values of a multi-valued attribute are the same when their `value`s are (members,
/// emails), or when they are equal.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn remove(slot: &mut Value, value: Option<&Value>) -> Result<(), PatchRefused> {
    match (slot, value) {
        // Entra ID removes group members with the path `members` and the values to take:
        // `[{"value": "<id>"}]`.
        (Value::Array(held), Some(Value::Array(taken))) => {
            held.retain(|kept| !taken.iter().any(|item| same_value(kept, item)));
        }
        (slot, _) => *slot = Value::Null,
    }
    Ok(())
}

/// An operation on the elements of a multi-valued attribute that `filter` selects
/// (`emails[type eq "work"].value`, `members[value eq "usr_…"]`).
fn apply_to_matching(
    slot: &mut Value,
    op: PatchOpKind,
    filter: &Filter,
    sub_attr: Option<&str>,
    value: Option<&Value>,
    attr: &AttrPath,
) -> Result<(), PatchRefused> {
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(items) = slot else {
        return Err(refused("invalidPath", format!("`{attr}` is not multi-valued")));
    };
    let selected = |item: &Value| matches(filter, item, &|_| false);
    match (op, sub_attr) {
        (PatchOpKind::Remove, None) => items.retain(|item| !selected(item)),
        (PatchOpKind::Remove, Some(sub)) => {
            for item in items.iter_mut().filter(|item| selected(item)) {
                if let Some(object) = item.as_object_mut() {
                    object.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                }
            }
        }
        (_, sub) => {
            let value = value.ok_or_else(|| refused("invalidValue", format!("`{}` needs a value", op_name(op))))?;
            let mut found = false;
            for item in items.iter_mut().filter(|item| selected(item)) {
                found = true;
                match (sub, item.as_object_mut()) {
                    (Some(sub), Some(object)) => {
                        object.insert(sub.to_string(), value.clone());
                    }
                    _ => *item = value.clone(),
                }
            }
            if !found {
                // Entra ID sets `emails[type eq "work"].value` on a user that has no work
                // email yet: the element the filter describes is made.
                let mut made = element_described_by(filter)
                    .ok_or_else(|| refused("noTarget", format!("no value of `{attr}` matches `{filter}`")))?;
                match sub {
                    Some(sub) => {
                        made.insert(sub.to_string(), value.clone());
                    }
                    None => {
                        let Value::Object(given) = value else {
                            return Err(refused("invalidValue", format!("`{attr}` takes objects")));
                        };
                        made.extend(given.clone());
                    }
                }
                items.push(Value::Object(made));
            }
        }
    }
    Ok(())
}

/// The element a filter of equalities on sub-attributes describes (`type eq "work"`).
fn element_described_by(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub_attr.is_none() => {
            let value = match value {
                CompValue::String(text) => Value::String(text.clone()),
                CompValue::Bool(flag) => Value::Bool(*flag),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        Filter::And(left, right) => {
            let mut made = element_described_by(left)?;
            made.extend(element_described_by(right)?);
            Some(made)
        }
        _ => None,
    }
}

fn op_name(op: PatchOpKind) -> &'static str {
    match op {
        PatchOpKind::Add => "add",
        PatchOpKind::Remove => "remove",
        PatchOpKind::Replace => "replace",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::grammar::parse_patch_request;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "userName": "jane@utility.example",
            "name": { "givenName": "Jane", "familyName": "Doe" },
            "displayName": "Jane Doe",
            "title": null,
            "emails": [{ "value": "jane@utility.example", "type": "work", "primary": true }],
            "active": true,
            "externalId": null,
            ENTERPRISE: { "employeeNumber": null, "department": null, "manager": null },
        })
    }

    fn patched(resource: Value, body: Value) -> Result<Value, PatchRefused> {
        let mut resource = resource;
        let operations = parse_patch_request(&body).expect("a valid PatchOp");
        apply(&mut resource, &operations)?;
        Ok(resource)
    }

    fn ops(operations: Value) -> Value {
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
    }

    #[test]
    fn entra_ids_pathless_replace_with_dotted_and_urn_keys_and_string_booleans() {
        let body = ops(json!([{
            "op": "Replace",
            "value": {
                "name.givenName": "Janet",
                "active": "False",
                format!("{ENTERPRISE}:department"): "Substations",
                ENTERPRISE: { "employeeNumber": "E-7" },
            }
        }]));
        let after = patched(user(), body).unwrap();
        assert_eq!(after["name"]["givenName"], "Janet");
        assert_eq!(after["name"]["familyName"], "Doe");
        assert_eq!(after["active"], "False");
        assert_eq!(after[ENTERPRISE]["department"], "Substations");
        assert_eq!(after[ENTERPRISE]["employeeNumber"], "E-7");
    }

    #[test]
    fn a_value_path_sets_a_sub_attribute_and_makes_the_element_it_describes() {
        let set = ops(json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "j@u.example" }]));
        let after = patched(user(), set.clone()).unwrap();
        assert_eq!(
            after["emails"],
            json!([{ "value": "j@u.example", "type": "work", "primary": true }])
        );
        let mut bare = user();
        bare["emails"] = Value::Null;
        let after = patched(bare, set).unwrap();
        assert_eq!(after["emails"], json!([{ "type": "work", "value": "j@u.example" }]));
    }

    #[test]
    fn group_members_are_added_once_and_removed_by_filter_or_by_value() {
        let group = json!({ "displayName": "Crew", "externalId": null, "members": [{ "value": "usr_a" }] });
        let added = patched(
            group,
            ops(json!([{ "op": "Add", "path": "members", "value": [{ "value": "usr_a" }, { "value": "usr_b" }, { "value": "usr_c" }] }])),
        )
        .unwrap();
        assert_eq!(added["members"].as_array().unwrap().len(), 3);
        let removed = patched(
            added.clone(),
            ops(json!([
                { "op": "Remove", "path": "members[value eq \"usr_a\"]" },
                { "op": "Remove", "path": "members", "value": [{ "value": "usr_c" }] },
            ])),
        )
        .unwrap();
        assert_eq!(removed["members"], json!([{ "value": "usr_b" }]));
        let emptied = patched(added, ops(json!([{ "op": "remove", "path": "members" }]))).unwrap();
        assert_eq!(emptied["members"], Value::Null);
    }

    #[test]
    fn a_path_naming_a_whole_extension_changes_its_object() {
        let after = patched(
            user(),
            ops(json!([{ "op": "add", "path": ENTERPRISE, "value": { "department": "Substations" } }])),
        )
        .unwrap();
        assert_eq!(after[ENTERPRISE]["department"], "Substations");
        let after = patched(after, ops(json!([{ "op": "remove", "path": ENTERPRISE }]))).unwrap();
        assert_eq!(after[ENTERPRISE], Value::Null);
    }

    #[test]
    fn an_attribute_the_resource_does_not_have_is_refused() {
        let refused = patched(
            user(),
            ops(json!([{ "op": "add", "path": "phoneNumbers", "value": [] }])),
        )
        .unwrap_err();
        assert_eq!(refused.scim_type, "invalidPath");
        let refused = patched(
            user(),
            ops(json!([{ "op": "replace", "path": "emails[type eq \"home\" or type eq \"other\"].value", "value": "x" }])),
        )
        .unwrap_err();
        assert_eq!(refused.scim_type, "noTarget");
    }

    #[test]
    fn a_read_only_attribute_is_refused_as_mutability() {
        for path in ["id", "meta.version", "groups", "ID"] {
            let refused = patched(user(), ops(json!([{ "op": "replace", "path": path, "value": "x" }]))).unwrap_err();
            assert_eq!(refused.scim_type, "mutability", "{path}");
        }
        // Without a path, an object naming one is refused the same way.
        let refused = patched(user(), ops(json!([{ "op": "replace", "value": { "id": "usr_x" } }]))).unwrap_err();
        assert_eq!(refused.scim_type, "mutability");
    }
}
