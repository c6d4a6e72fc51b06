//! The SCIM 2.0 door (RFC 7643, RFC 7644; `docs/scim.md`): an identity directory (Okta,
//! Entra ID) provisions the members and groups of the organization whose API key it holds,
//! through the same commands as the REST door (`operations::users`, `operations::groups`).
//! This module only translates: SCIM's JSON into the commands' inputs, their records into
//! SCIM resources, filters into lookups by key or index, and errors into SCIM's shape.

pub mod discovery;
pub mod grammar;
pub mod groups;
pub mod openapi;
pub mod patch;
pub mod users;

use serde_json::{Value, json};

use crate::error::ApiError;
use grammar::{AttrPath, CompValue, CompareOp, Filter};

/// The media type of every SCIM body (RFC 7644 §3.1).
pub const CONTENT_TYPE: &str = "application/scim+json";
/// Resources a list answers at most (`count` is capped to it; `filter.maxResults`).
pub const MAX_RESULTS: usize = discovery::MAX_RESULTS as usize;

/// A resource's ETag (RFC 7644 §3.14): its version, weak (it names the record's state,
/// not a byte-exact representation).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` names, weak or strong; `*` names none (any version).
pub fn version_in(if_match: &str) -> Result<Option<u64>, ApiError> {
    let text = if_match.trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse::<u64>().map(Some).map_err(|_| ApiError::PreconditionFailed {
        message: format!("`If-Match: {text}` is not an ETag this service gave"),
    })
}

/// An error as SCIM answers it (RFC 7644 §3.12): `status` as a string, `scimType` where
/// one applies.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Seconds, on a `503` or `429`.
    pub retry_after: Option<u64>,
    /// The methods the path serves, on a `405`.
    pub allow: Option<String>,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
            allow: None,
        }
    }

    /// What the last-resort route answers (a method or path under `/scim/v2` that no
    /// route serves): `405` where the path is served with other methods, `501` for what
    /// RFC 7644 defines and this service does not offer, else `404`.
    pub fn not_served(method: &str, path: &str) -> ScimError {
        let resource = path.strip_prefix("/scim/v2").unwrap_or(path).trim_end_matches('/');
        if resource.ends_with("/.search") && method.eq_ignore_ascii_case("POST") {
            return ScimError::new(
                501,
                None,
                "searching with `POST /.search` is not supported; list with `GET` and a `filter`",
            );
        }
        if resource == "/Bulk" {
            return ScimError::new(
                501,
                None,
                "bulk operations are not supported (`bulk.supported` is false)",
            );
        }
        if resource == "/Me" || resource.starts_with("/Me/") {
            return ScimError::new(501, None, "`/Me` is not supported: a provisioning key acts for no user");
        }
        let methods = crate::routes::methods_of_path(path);
        if methods.is_empty() {
            return ScimError::new(404, None, format!("no SCIM endpoint at `{resource}`"));
        }
        let allow = methods.join(", ");
        ScimError {
            allow: Some(allow.clone()),
            ..ScimError::new(
                405,
                None,
                format!("`{method}` is not allowed on `{resource}`; it serves {allow}"),
            )
        }
    }

    /// The SCIM form of a command's error.
    pub fn of(error: &ApiError) -> ScimError {
        let scim_type = match error {
            ApiError::Validation { .. } => Some("invalidValue"),
            ApiError::Taken { .. } => Some("uniqueness"),
            _ => None,
        };
        match error {
            ApiError::Internal { detail } => tracing::error!(%detail, "SCIM request failed"),
            ApiError::Unavailable { dependency, fault, .. } => {
                tracing::error!(dependency, %fault, "a dependency failed; answered 503")
            }
            _ => {}
        }
        let detail = match error {
            // The detail of a 500 is logged, never answered.
            ApiError::Internal { .. } => "internal error".to_string(),
            ApiError::Unauthenticated => "a valid `Authorization: Bearer <API key>` header is required".to_string(),
            other => other.to_string(),
        };
        let retry_after = match error {
            ApiError::Unavailable {
                retry_after_seconds, ..
            }
            | ApiError::RateLimited {
                retry_after_seconds, ..
            } => Some(*retry_after_seconds),
            _ => None,
        };
        ScimError {
            status: error.status(),
            scim_type,
            detail,
            retry_after,
            allow: None,
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [discovery::ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        ScimError::of(&error)
    }
}

impl From<patch::PatchRefused> for ScimError {
    fn from(refused: patch::PatchRefused) -> Self {
        ScimError::new(400, Some(refused.scim_type), refused.message)
    }
}

impl From<grammar::PatchError> for ScimError {
    fn from(error: grammar::PatchError) -> Self {
        ScimError::new(400, Some(error.scim_type), error.message)
    }
}

/// What a list request asks (RFC 7644 §3.4.2): a filter, a 1-based `startIndex`, a
/// `count`, and the attributes to return or leave out.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
    pub attributes: Vec<AttrPath>,
    pub excluded_attributes: Vec<AttrPath>,
}

fn invalid_filter(message: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("invalidFilter"), message)
}

impl ListQuery {
    /// Reads the query parameters; a `startIndex` below 1 counts as 1 and a `count` above
    /// `MAX_RESULTS` as `MAX_RESULTS` (RFC 7644 §3.4.2.4).
    pub fn parse(
        filter: Option<&str>,
        start_index: Option<&str>,
        count: Option<&str>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<ListQuery, ScimError> {
        let number = |name: &str, text: Option<&str>, default: i64| -> Result<i64, ScimError> {
            text.map(|text| {
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| ScimError::new(400, Some("invalidValue"), format!("`{name}` must be an integer")))
            })
            .transpose()
            .map(|value| value.unwrap_or(default))
        };
        let filter = filter
            .map(|text| grammar::parse_filter(text).map_err(|error| invalid_filter(error.message)))
            .transpose()?;
        let start_index = number("startIndex", start_index, 1)?.max(1);
        let count = number("count", count, MAX_RESULTS as i64)?.clamp(0, MAX_RESULTS as i64);
        Ok(ListQuery {
            filter,
            start_index: usize::try_from(start_index).unwrap_or(1),
            count: usize::try_from(count).unwrap_or(MAX_RESULTS),
            attributes: attribute_list("attributes", attributes)?,
            excluded_attributes: attribute_list("excludedAttributes", excluded)?,
        })
    }

    /// Whether an attribute is left out of the answer (`members` of a group, say).
    pub fn excludes(&self, name: &str) -> bool {
        self.excluded_attributes.iter().any(|path| path.is(name))
            || (!self.attributes.is_empty() && !self.attributes.iter().any(|path| path.name.eq_ignore_ascii_case(name)))
    }
}

/// A comma-separated list of attribute paths.
pub fn attribute_list(name: &str, text: Option<&str>) -> Result<Vec<AttrPath>, ScimError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            grammar::parse_attr_path(part)
                .map_err(|error| ScimError::new(400, Some("invalidValue"), format!("`{name}`: {}", error.message)))
        })
        .collect()
}

/// Keeps what `attributes` asks for, or drops what `excludedAttributes` names (RFC 7644
/// §3.9); `schemas`, `id` and `meta` are always returned.
pub fn project(resource: &mut Value, attributes: &[AttrPath], excluded: &[AttrPath]) {
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    const ALWAYS: [&str; 3] = ["schemas", "id", "meta"];
    // A path names a top-level key by its name, or by its schema URN (an extension's
    // attribute lives in the object under that URN).
    let named = |paths: &[AttrPath], key: &str| {
        paths.iter().any(|path| {
            path.name.eq_ignore_ascii_case(key) || path.uri.as_deref().is_some_and(|uri| uri.eq_ignore_ascii_case(key))
        })
    };
    if !attributes.is_empty() {
        object.retain(|key, _| ALWAYS.contains(&key.as_str()) || named(attributes, key));
        // A sub-attribute asked for keeps only that part of its attribute.
        for path in attributes {
            if let (Some(sub), Some(Value::Object(inner))) = (&path.sub_attr, object.get_mut(&path.name)) {
                inner.retain(|key, _| key.eq_ignore_ascii_case(sub));
            }
        }
    }
    for path in excluded {
        match &path.sub_attr {
            None => object.retain(|key, _| ALWAYS.contains(&key.as_str()) || !key.eq_ignore_ascii_case(&path.name)),
            Some(sub) => {
                if let Some(Value::Object(inner)) = object.get_mut(&path.name) {
                    inner.retain(|key, _| !key.eq_ignore_ascii_case(sub));
                }
            }
        }
    }
}

/// How a filter is served: by one key or index, the whole filter then checked on what
/// that read (`grammar::matches`); or, with no filter, the list in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    All,
    Id(String),
    /// `userName eq`, `emails eq`, `emails.value eq`, `emails[…].value eq` (a User), or
    /// `displayName eq` (a Group).
    Name(String),
    ExternalId(String),
}

/// The keyed clause of a filter: an `eq` on an attribute with a key or index, alone or
/// `and`-ed with anything (which is then checked on the candidates). `names` are the
/// attributes the `Name` lookup serves.
pub fn lookup(filter: Option<&Filter>, names: &[(&str, Option<&str>)]) -> Result<Lookup, ScimError> {
    let Some(filter) = filter else {
        return Ok(Lookup::All);
    };
    keyed(filter, names).ok_or_else(|| {
        let served: Vec<String> = names
            .iter()
            .map(|(name, sub)| match sub {
                Some(sub) => format!("{name}.{sub}"),
                None => name.to_string(),
            })
            .chain(["externalId".to_string(), "id".to_string()])
            .collect();
        invalid_filter(format!(
            "this filter needs a search this service does not make; filter with `eq` on {}, combined with `and`",
            served.join(", ")
        ))
    })
}

fn keyed(filter: &Filter, names: &[(&str, Option<&str>)]) -> Option<Lookup> {
    let eq_text = |op: &CompareOp, value: &CompValue| match (op, value) {
        (CompareOp::Eq, CompValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let is_name = |path: &AttrPath| {
        names.iter().any(|(name, sub)| match sub {
            Some(sub) => path.is_sub(name, sub) || path.is(name),
            None => path.is(name),
        })
    };
    match filter {
        Filter::Compare { path, op, value } => {
            let text = eq_text(op, value)?;
            if path.is("id") {
                Some(Lookup::Id(text))
            } else if path.is("externalId") {
                Some(Lookup::ExternalId(text))
            } else if is_name(path) {
                Some(Lookup::Name(text))
            } else {
                None
            }
        }
        Filter::ValuePath {
            attr,
            then: Some((sub, op, value)),
            ..
        } => {
            let text = eq_text(op, value)?;
            let path = AttrPath::with_sub(attr.name.clone(), sub.clone());
            is_name(&path).then_some(Lookup::Name(text))
        }
        Filter::And(left, right) => keyed(left, names).or_else(|| keyed(right, names)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_NAMES: &[(&str, Option<&str>)] = &[("userName", None), ("emails", Some("value"))];

    fn lookup_of(text: &str) -> Result<Lookup, ScimError> {
        let filter = grammar::parse_filter(text).unwrap();
        lookup(Some(&filter), USER_NAMES)
    }

    #[test]
    fn what_okta_and_entra_id_send_is_served_by_a_key_and_anything_else_is_invalid_filter() {
        assert_eq!(
            lookup_of("userName eq \"a@b.co\"").unwrap(),
            Lookup::Name("a@b.co".into())
        );
        assert_eq!(
            lookup_of("emails[type eq \"work\"].value eq \"a@b.co\"").unwrap(),
            Lookup::Name("a@b.co".into())
        );
        assert_eq!(
            lookup_of("externalId eq \"00u1\"").unwrap(),
            Lookup::ExternalId("00u1".into())
        );
        assert_eq!(
            lookup_of("active eq true and externalId eq \"x\"").unwrap(),
            Lookup::ExternalId("x".into())
        );
        for unserved in [
            "userName sw \"a\"",
            "userName eq \"a\" or userName eq \"b\"",
            "title pr",
            "active eq true",
        ] {
            let refused = lookup_of(unserved).unwrap_err();
            assert_eq!(
                (refused.status, refused.scim_type),
                (400, Some("invalidFilter")),
                "{unserved}"
            );
        }
    }

    #[test]
    fn an_etag_reads_back_its_version() {
        assert_eq!(version_in(&etag(7)).unwrap(), Some(7));
        assert_eq!(version_in("\"7\"").unwrap(), Some(7));
        assert_eq!(version_in("*").unwrap(), None);
        assert!(version_in("W/\"x\"").is_err());
    }

    #[test]
    fn excluded_members_are_left_out_and_ids_stay() {
        let mut group = json!({ "schemas": [], "id": "grp_1", "displayName": "A", "members": [], "meta": {} });
        project(&mut group, &[], &attribute_list("x", Some("members")).unwrap());
        assert_eq!(
            group,
            json!({ "schemas": [], "id": "grp_1", "displayName": "A", "meta": {} })
        );
        let mut user = json!({ "schemas": [], "id": "u", "userName": "a", "externalId": "e", "meta": {} });
        project(&mut user, &attribute_list("x", Some("externalId")).unwrap(), &[]);
        assert_eq!(user, json!({ "schemas": [], "id": "u", "externalId": "e", "meta": {} }));
    }
}

/// The API key an identity directory presents: `Authorization: Bearer <key>` (RFC 6750).
/// `X-API-Key` is not read here: a SCIM client sends a bearer token, and one way in keeps
/// a key from being used where its admin did not configure it.
pub fn bearer_token(request: &lambda_http::Request) -> Option<&str> {
    let value = request.headers().get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// A path segment as text: a schema's URN arrives as sent, `:` or `%3A` (clients that
/// encode every reserved character send the latter).
pub fn path_text(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The SCIM base URL the request came to, for `meta.location` and `Location`: the host it
/// was sent to, over HTTPS behind API Gateway (`X-Forwarded-Proto`), HTTP on a local run.
pub fn base_url(request: &lambda_http::Request) -> String {
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let host = header("host").unwrap_or("localhost");
    let local = host.starts_with("127.0.0.1") || host.starts_with("localhost");
    let scheme = header("x-forwarded-proto").unwrap_or(if local { "http" } else { "https" });
    format!("{scheme}://{host}/scim/v2")
}

/// A successful SCIM answer: its status, body, and the `Location` and `ETag` it carries.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    pub location: Option<String>,
    pub etag: Option<String>,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            body: Some(body),
            ..Answer::default()
        }
    }

    /// A resource, with its `ETag` (and `Location`, when created) taken from its `meta`.
    pub fn resource(status: u16, body: Value) -> Answer {
        let etag = body["meta"]["version"].as_str().map(str::to_string);
        let location = (status == 201)
            .then(|| body["meta"]["location"].as_str().map(str::to_string))
            .flatten();
        Answer {
            status,
            body: Some(body),
            location,
            etag,
        }
    }

    pub fn no_content() -> Answer {
        Answer {
            status: 204,
            ..Answer::default()
        }
    }
}

/// The HTTP reply of a SCIM answer or error, as `application/scim+json`.
pub fn reply(result: Result<Answer, ScimError>) -> crate::http::Reply {
    let (status, body, mut headers) = match result {
        Ok(answer) => {
            let mut headers = Vec::new();
            if let Some(location) = answer.location {
                headers.push(("location", location));
            }
            if let Some(etag) = answer.etag {
                headers.push(("etag", etag));
            }
            (answer.status, answer.body, headers)
        }
        Err(error) => {
            if error.status >= 500 {
                tracing::error!(status = error.status, reason = %error.detail, "SCIM request failed");
            } else {
                tracing::warn!(status = error.status, reason = %error.detail, "SCIM request refused");
            }
            let mut headers = Vec::new();
            if let Some(seconds) = error.retry_after {
                headers.push(("retry-after", seconds.to_string()));
            }
            if let Some(methods) = &error.allow {
                headers.push(("allow", methods.clone()));
            }
            if error.status == 401 {
                headers.push(("www-authenticate", "Bearer realm=\"scim\"".to_string()));
            }
            (error.status, Some(error.body()), headers)
        }
    };
    headers.shrink_to_fit();
    crate::http::Reply {
        status,
        content_type: CONTENT_TYPE,
        headers,
        body: body.map(|body| body.to_string()).unwrap_or_default(),
        bytes: None,
    }
}
