//! Request and response helpers shared by every handler: JSON bodies, query strings, the
//! API key header, and the mapping of results to HTTP responses.

use std::collections::HashMap;

use lambda_http::http::header::{CONTENT_TYPE, HeaderValue};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;
use crate::json;
use crate::pagination::PageRequest;

/// API Gateway accepts larger payloads, but no request of ours needs more.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const API_KEY_HEADER: &str = "x-api-key";

/// A successful response, before it becomes HTTP.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// A body that is not text (a gzip export), sent as bytes in place of `body`.
    pub bytes: Option<Vec<u8>>,
}

impl Reply {
    pub fn json<T: Serialize>(status: u16, value: &T) -> ApiResult<Reply> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            bytes: None,
        })
    }

    pub fn ok<T: Serialize>(value: &T) -> ApiResult<Reply> {
        Reply::json(200, value)
    }

    /// `204 No Content`.
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            content_type: "application/json",
            headers: Vec::new(),
            body: String::new(),
            bytes: None,
        }
    }

    pub fn created<T: Serialize>(value: &T) -> ApiResult<Reply> {
        Reply::json(201, value)
    }
}

/// Maps a handler's result to the HTTP response; the one place errors become JSON.
pub fn respond(result: ApiResult<Reply>) -> Response<Body> {
    let (status, content_type, headers, body) = match result {
        Ok(reply) => {
            let body = match reply.bytes {
                Some(bytes) => Body::Binary(bytes),
                None => Body::Text(reply.body),
            };
            (reply.status, reply.content_type, reply.headers, body)
        }
        Err(error) => {
            match &error {
                ApiError::Internal { detail } => tracing::error!(%detail, "request failed"),
                ApiError::Unavailable { dependency, fault, .. } => {
                    tracing::error!(dependency, %fault, "a dependency failed; answered 503")
                }
                // `message` is the event's own key; the refusal's text goes under `reason`.
                other => {
                    tracing::warn!(code = other.code(), status = other.status(), reason = %other, "request refused")
                }
            }
            (
                error.status(),
                "application/json",
                error.headers(),
                Body::Text(error_json(&error)),
            )
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        lambda_http::http::StatusCode::from_u16(status).unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    let response_headers = response.headers_mut();
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response_headers.insert(name, value);
        }
    }
    response
}

/// The JSON body of an error response.
pub fn error_json(error: &ApiError) -> String {
    serde_json::to_string(&error.body())
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":"internal error"}}"#.to_string())
}

/// The `X-API-Key` header: absent is `None` (401 later); present but not visible ASCII
/// (a key is always ASCII) is a 400, never a failure further down.
pub fn api_key(request: &Request) -> ApiResult<Option<&str>> {
    match request.headers().get(API_KEY_HEADER) {
        None => Ok(None),
        Some(value) => value.to_str().map(Some).map_err(|_| {
            ApiError::validation(
                "X-API-Key",
                "the `X-API-Key` header must be printable ASCII, as every key is",
            )
        }),
    }
}

/// The keys of `X-API-Key`, comma-separated (API Gateway joins a repeated header the same
/// way): the first authenticates the request; a batch of invitations into several
/// organizations sends one more key per organization, since a key acts only where it was
/// issued.
pub fn api_keys(request: &Request) -> ApiResult<Vec<&str>> {
    Ok(api_key(request)?
        .map(|keys| keys.split(',').map(str::trim).filter(|key| !key.is_empty()).collect())
        .unwrap_or_default())
}

/// Whether `Accept-Encoding` takes gzip (`gzip`, `gzip;q=0.8`, `*`; not `gzip;q=0`).
pub fn accepts_gzip(request: &Request) -> bool {
    let Some(header) = request
        .headers()
        .get(lambda_http::http::header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    header.split(',').any(|part| {
        let mut pieces = part.split(';').map(str::trim);
        let coding = pieces.next().unwrap_or_default();
        let refused = pieces.any(|parameter| {
            parameter
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// The request path as the client sent it, without an API Gateway stage prefix.
pub fn path(request: &Request) -> String {
    let raw = request.raw_http_path();
    if raw.is_empty() {
        request.uri().path().to_string()
    } else {
        raw.to_string()
    }
}

/// The body's bytes: at most `MAX_BODY_BYTES`, and UTF-8 (API Gateway base64-encodes a
/// body that is not UTF-8 text; lambda_http decodes it to bytes).
pub fn utf8_body(request: &Request) -> ApiResult<&[u8]> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::validation(
            "body",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::validation("body", "the body must be JSON encoded as UTF-8"));
    }
    Ok(bytes)
}

/// Parses a JSON body into `T`, naming the offending field on any error.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> ApiResult<T> {
    let bytes = utf8_body(request)?;
    // serde would also accept a struct written as an array; the API speaks objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::validation("body", "the body must be a JSON object"));
    }
    json::from_slice(bytes)
}

/// Like `json_body`, but an empty body reads as `{}` (an action whose fields are all
/// optional, e.g. completing an assignment now).
pub fn json_body_or_empty<T: DeserializeOwned>(request: &Request) -> ApiResult<T> {
    let empty = match request.body() {
        Body::Empty => true,
        Body::Text(text) => text.trim().is_empty(),
        Body::Binary(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        _ => true,
    };
    if empty {
        json::from_slice(b"{}")
    } else {
        json_body(request)
    }
}

/// The query string, restricted to the parameters an endpoint knows.
#[derive(Debug, Default)]
pub struct QueryParams {
    values: HashMap<String, String>,
}

impl QueryParams {
    pub fn parse(request: &Request, allowed: &[&str]) -> ApiResult<QueryParams> {
        let map = request.query_string_parameters();
        let mut values = HashMap::new();
        for (name, value) in map.iter() {
            if !allowed.contains(&name) {
                let message = if allowed.is_empty() {
                    format!("unknown query parameter `{name}`; this endpoint takes none")
                } else {
                    format!("unknown query parameter `{name}`; allowed: {}", allowed.join(", "))
                };
                return Err(ApiError::validation(name, message));
            }
            if map.all(name).is_some_and(|all| all.len() > 1) {
                return Err(ApiError::validation(name, format!("`{name}` may be given only once")));
            }
            values.insert(name.to_string(), value.to_string());
        }
        Ok(QueryParams { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `limit` and `cursor`; `query` names the list and its filters, to bind the cursor.
    pub fn page(&self, org: &OrgId, query: String) -> ApiResult<PageRequest> {
        PageRequest::parse(self.get("limit"), self.get("cursor"), org, query)
    }

    /// A `true`/`false` parameter; absent is `false`.
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::validation(name, format!("`{name}` must be true or false"))),
        }
    }

    /// A present parameter must not be empty.
    pub fn non_empty(&self, name: &str) -> ApiResult<Option<&str>> {
        match self.get(name) {
            Some("") => Err(ApiError::validation(name, format!("`{name}` must not be empty"))),
            other => Ok(other),
        }
    }
}
