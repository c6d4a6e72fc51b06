//! The xAPI door (`/xapi/statements`): what an LMS or course player sends to a Learning
//! Record Store, read into `LmsReport`s for `operations::lms_statements`, and the
//! answers an LRS gives. We are not a full LRS: `docs/lms.md` says what is accepted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::model::api_keys;
use crate::model::lms_statements::{
    Effect, Learner, LmsReport, MAX_STATEMENT_BYTES, MAX_STATEMENTS_PER_REQUEST, ReportedScore, StatementId,
    StatementOutcome, StoredStatement, UnmatchedReason,
};
use crate::time::Timestamp;
use crate::validation::Email;

pub const VERSION_HEADER: &str = "x-experience-api-version";
/// The version we answer with; requests may say any 1.0.x.
pub const VERSION: &str = "1.0.3";

/// `X-Experience-API-Version` must be present and 1.0.x (xAPI 1.0.3 §6.2).
pub fn check_version(request: &Request) -> ApiResult<()> {
    let value = request
        .headers()
        .get(VERSION_HEADER)
        .map(|value| value.to_str().unwrap_or_default());
    let supported = value.is_some_and(|version| {
        let mut parts = version.split('.');
        parts.next() == Some("1")
            && parts.next() == Some("0")
            && parts.all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    });
    if supported {
        Ok(())
    } else {
        Err(ApiError::validation(
            "X-Experience-API-Version",
            format!(
                "the `X-Experience-API-Version` header must name xAPI 1.0.x (we answer as {VERSION}); got {}",
                value.map_or("none".to_string(), |value| format!("`{value}`"))
            ),
        ))
    }
}

/// The key an LRS client presents: HTTP Basic with the key's id as the user name and the
/// key itself as the password (how LRS credentials are configured), or `X-API-Key`.
pub fn presented_key(request: &Request) -> ApiResult<Option<String>> {
    if let Some(key) = http::api_key(request)? {
        return Ok(Some(key.to_string()));
    }
    let Some(header) = request.headers().get(lambda_http::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let header = header.to_str().map_err(|_| ApiError::Unauthenticated)?;
    let Some(encoded) = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim())
    else {
        return Err(ApiError::Unauthenticated);
    };
    let decoded = STANDARD.decode(encoded).map_err(|_| ApiError::Unauthenticated)?;
    let decoded = String::from_utf8(decoded).map_err(|_| ApiError::Unauthenticated)?;
    let (user, key) = decoded.split_once(':').ok_or(ApiError::Unauthenticated)?;
    // The user name must be the id the key carries: a key pasted under another key's id
    // is a mistake worth refusing rather than guessing at.
    match api_keys::parse_token(key) {
        Some((id, _)) if id.as_str() == user => Ok(Some(key.to_string())),
        _ => Err(ApiError::Unauthenticated),
    }
}

/// xAPI's About resource (§4.1.5 of the communication part): the versions we speak.
#[derive(Debug, Serialize)]
pub struct About {
    pub version: &'static [&'static str],
}

impl About {
    pub fn now() -> Self {
        About {
            version: &["1.0.0", "1.0.1", "1.0.2", "1.0.3"],
        }
    }
}

/// A `POST` body: one statement or an array of them.
pub fn statements_of_post(body: &[u8], now: Timestamp) -> ApiResult<Vec<LmsReport>> {
    let value = body_json(body)?;
    let statements = match value {
        Value::Array(statements) => statements,
        statement @ Value::Object(_) => vec![statement],
        _ => {
            return Err(ApiError::validation(
                "body",
                "the body must be a statement or an array of statements",
            ));
        }
    };
    if statements.is_empty() || statements.len() > MAX_STATEMENTS_PER_REQUEST {
        return Err(ApiError::validation(
            "body",
            format!("send from 1 to {MAX_STATEMENTS_PER_REQUEST} statements per request"),
        ));
    }
    let many = statements.len() > 1;
    let mut reports: Vec<LmsReport> = Vec::with_capacity(statements.len());
    for (index, statement) in statements.into_iter().enumerate() {
        let at = if many { format!("[{index}].") } else { String::new() };
        let report = statement_of(statement, None, &at, now)?;
        if reports.iter().any(|earlier| earlier.id == report.id) {
            return Err(ApiError::validation(
                format!("{at}id"),
                format!("statement {} appears twice in the request", report.id),
            ));
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A `PUT ?statementId=` body: one statement, whose `id`, if given, is the parameter's.
pub fn statement_of_put(statement_id: &str, body: &[u8], now: Timestamp) -> ApiResult<LmsReport> {
    let id = StatementId::parse("statementId", statement_id)?;
    statement_of(body_json(body)?, Some(id), "", now)
}

fn body_json(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation("body", "the body must be a statement"));
    }
    crate::json::from_slice(body)
}

fn invalid(field: String, why: impl Into<String>) -> ApiError {
    let why = why.into();
    ApiError::validation(field.clone(), format!("`{field}`: {why}"))
}

/// An IRI as xAPI uses them: a scheme, a colon and no white space (RFC 3987's absolute
/// form, checked as far as matching needs).
fn iri(field: String, value: Option<&Value>) -> ApiResult<String> {
    let Some(Value::String(text)) = value else {
        return Err(invalid(
            field,
            "an IRI (for example `http://adlnet.gov/expapi/verbs/completed`) is required",
        ));
    };
    let scheme_ok = text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if !scheme_ok || text.chars().any(|c| c.is_whitespace() || c.is_control()) || text.len() > 2048 {
        return Err(invalid(field, format!("`{text}` is not an absolute IRI")));
    }
    Ok(text.clone())
}

fn object<'a>(field: &str, value: Option<&'a Value>) -> ApiResult<&'a Map<String, Value>> {
    match value {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(invalid(field.to_string(), "must be an object")),
        None => Err(invalid(field.to_string(), "is required")),
    }
}

/// One statement, checked as far as anything is kept: a request with one malformed
/// statement is refused whole, before any is applied. `at` prefixes field names in a batch.
fn statement_of(mut statement: Value, put_id: Option<StatementId>, at: &str, now: Timestamp) -> ApiResult<LmsReport> {
    let Value::Object(map) = &mut statement else {
        return Err(invalid(format!("{at}statement"), "must be an object"));
    };
    // Set by the LRS, not the sender (xAPI §2.4.8–2.4.9): not part of what is compared.
    map.remove("stored");
    map.remove("authority");
    let id = match (map.get("id"), put_id) {
        (None, Some(id)) => id,
        (None, None) => StatementId::new(),
        (Some(Value::String(text)), put_id) => {
            let id = StatementId::parse(&format!("{at}id"), text)?;
            if put_id.as_ref().is_some_and(|put_id| *put_id != id) {
                return Err(invalid("id".into(), "must be the `statementId` parameter"));
            }
            id
        }
        (Some(_), _) => return Err(invalid(format!("{at}id"), "must be a UUID string")),
    };
    map.insert("id".into(), Value::String(id.to_string()));

    let learner = learner(&format!("{at}actor"), map.get("actor"))?;
    let verb = object(&format!("{at}verb"), map.get("verb"))?;
    let verb = iri(format!("{at}verb.id"), verb.get("id"))?;
    let target = object(&format!("{at}object"), map.get("object"))?;
    let activity_id = match target.get("objectType").and_then(Value::as_str) {
        None | Some("Activity") => Some(iri(format!("{at}object.id"), target.get("id"))?),
        Some("Agent" | "Group" | "StatementRef" | "SubStatement") => None,
        Some(other) => {
            return Err(invalid(
                format!("{at}object.objectType"),
                format!("`{other}` is not an xAPI object type"),
            ));
        }
    };
    let timestamp = match map.get("timestamp") {
        None => None,
        Some(Value::String(text)) => Some(Timestamp::parse(&format!("{at}timestamp"), text)?),
        Some(_) => return Err(invalid(format!("{at}timestamp"), "must be an ISO 8601 timestamp")),
    };
    let score = score(&format!("{at}result.score"), map.get("result"))?;

    let size = statement.to_string().len();
    if size > MAX_STATEMENT_BYTES {
        return Err(invalid(
            format!("{at}statement"),
            format!("is {size} bytes of JSON; a statement may be at most {MAX_STATEMENT_BYTES}"),
        ));
    }
    let completion_score = match Effect::of_verb(&verb) {
        Effect::Complete => score.percentage(&format!("{at}result.score"))?,
        _ => None,
    };
    let report = LmsReport {
        id,
        learner,
        verb,
        activity_id,
        timestamp,
        score,
        completion_score,
        statement,
    };
    report.check_timestamp(&format!("{at}timestamp"), now)?;
    Ok(report)
}

/// The actor: an Agent by exactly one inverse functional identifier; a Group, or an
/// identifier we cannot match, is kept as unidentifiable.
fn learner(field: &str, value: Option<&Value>) -> ApiResult<Learner> {
    let actor = object(field, value)?;
    if actor.get("objectType").and_then(Value::as_str) == Some("Group") {
        return Ok(Learner::Unidentifiable("group"));
    }
    let identifiers: Vec<&str> = ["mbox", "mbox_sha1sum", "openid", "account"]
        .into_iter()
        .filter(|name| actor.contains_key(*name))
        .collect();
    match identifiers.as_slice() {
        ["mbox"] => {
            let mbox = actor.get("mbox").and_then(Value::as_str).unwrap_or_default();
            let Some(address) = mbox.strip_prefix("mailto:") else {
                return Err(invalid(
                    format!("{field}.mbox"),
                    "must be `mailto:` and an email address",
                ));
            };
            Ok(Learner::Email(Email::parse(&format!("{field}.mbox"), address)?))
        }
        ["account"] => {
            let account = object(&format!("{field}.account"), actor.get("account"))?;
            let home_page = iri(format!("{field}.account.homePage"), account.get("homePage"))?;
            match account.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => Ok(Learner::Account {
                    home_page,
                    name: name.clone(),
                }),
                _ => Err(invalid(format!("{field}.account.name"), "must be a non-empty string")),
            }
        }
        ["mbox_sha1sum"] => Ok(Learner::Unidentifiable("mbox_sha1sum")),
        ["openid"] => Ok(Learner::Unidentifiable("openid")),
        [] => Err(invalid(
            field.to_string(),
            "an agent needs one of `mbox`, `mbox_sha1sum`, `openid` or `account`",
        )),
        _ => Err(invalid(field.to_string(), "an agent has exactly one identifier")),
    }
}

fn score(field: &str, result: Option<&Value>) -> ApiResult<ReportedScore> {
    let Some(result) = result else {
        return Ok(ReportedScore::default());
    };
    let result = object(&field.replace(".score", ""), Some(result))?;
    let Some(score) = result.get("score") else {
        return Ok(ReportedScore::default());
    };
    let score = object(field, Some(score))?;
    let number = |name: &str| match score.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(_) => Err(invalid(format!("{field}.{name}"), "must be a number")),
    };
    let reported = ReportedScore {
        scaled: number("scaled")?,
        raw: number("raw")?,
        min: number("min")?,
        max: number("max")?,
    };
    reported.check(field)?;
    Ok(reported)
}

/// A statement as `GET` answers it: as received, with what the LRS adds.
pub fn statement_view(stored: &StoredStatement) -> ApiResult<Value> {
    let mut statement: Value = serde_json::from_str(&stored.statement).map_err(ApiError::internal)?;
    if let Value::Object(map) = &mut statement {
        map.insert("stored".into(), Value::String(stored.stored_at.to_string()));
        map.insert("version".into(), Value::String(VERSION.into()));
        map.insert(
            "authority".into(),
            serde_json::json!({
                "objectType": "Agent",
                "account": {
                    "homePage": AUTHORITY_HOME_PAGE,
                    "name": stored.api_key_id.as_ref().map_or(stored.stored_by.to_string(), ToString::to_string),
                },
            }),
        );
    }
    Ok(statement)
}

/// The `authority` of a stored statement is the key that sent it, named in this space.
pub const AUTHORITY_HOME_PAGE: &str = "https://raptorcomply.com/api-keys";

/// What a statement did, beside it in a list (not part of xAPI: LRS clients ignore it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementOutcomeView {
    pub statement_id: String,
    pub outcome: StatementOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched_reason: Option<UnmatchedReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_module_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_assignment_id: Option<String>,
    pub stored: String,
}

impl StatementOutcomeView {
    pub fn of(stored: &StoredStatement) -> Self {
        StatementOutcomeView {
            statement_id: stored.id.to_string(),
            outcome: stored.outcome,
            unmatched_reason: stored.unmatched_reason,
            user_id: stored.user_id.as_ref().map(ToString::to_string),
            training_module_id: stored.training_module_id.as_ref().map(ToString::to_string),
            training_assignment_id: stored.training_assignment_id.as_ref().map(ToString::to_string),
            stored: stored.stored_at.to_string(),
        }
    }
}

/// xAPI's `StatementResult`: the statements, and `more`, the address of the next page
/// (empty at the end), with the page size asked for; `outcomes` says what each did, in the
/// same order.
#[derive(Debug, Serialize)]
pub struct StatementResult {
    pub statements: Vec<Value>,
    pub more: String,
    pub outcomes: Vec<StatementOutcomeView>,
}

impl StatementResult {
    pub fn of(statements: &[StoredStatement], next_cursor: Option<String>, limit: usize) -> ApiResult<Self> {
        Ok(StatementResult {
            statements: statements.iter().map(statement_view).collect::<ApiResult<_>>()?,
            more: next_cursor.map_or(String::new(), |cursor| {
                format!("/xapi/statements?unmatched=true&limit={limit}&cursor={cursor}")
            }),
            outcomes: statements.iter().map(StatementOutcomeView::of).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(statement: Value) -> ApiResult<LmsReport> {
        statements_of_post(statement.to_string().as_bytes(), Timestamp::now()).map(|mut reports| reports.remove(0))
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    fn completed(actor: Value) -> Value {
        json!({
            "actor": actor,
            "verb": { "id": "http://adlnet.gov/expapi/verbs/completed" },
            "object": { "id": "https://lms.example.com/courses/cip-004" },
        })
    }

    #[test]
    fn a_statement_without_an_id_gets_one_written_into_what_is_kept() {
        let report = one(completed(json!({ "mbox": "mailto:ana@utility.example" }))).unwrap();
        assert_eq!(report.statement["id"], json!(report.id.as_str()));
        assert_eq!(
            report.learner,
            Learner::Email(Email::parse("e", "ana@utility.example").unwrap())
        );
        assert_eq!(
            report.activity_id.as_deref(),
            Some("https://lms.example.com/courses/cip-004")
        );
    }

    #[test]
    fn malformed_statements_are_refused_naming_the_field() {
        let good = completed(json!({ "mbox": "mailto:ana@utility.example" }));
        let cases = [
            ("actor", {
                let mut s = good.clone();
                s.as_object_mut().unwrap().remove("actor");
                s
            }),
            ("verb.id", {
                let mut s = good.clone();
                s["verb"]["id"] = json!("completed");
                s
            }),
            ("object.id", {
                let mut s = good.clone();
                s["object"]["id"] = json!("not an iri");
                s
            }),
            ("actor.mbox", {
                let mut s = good.clone();
                s["actor"]["mbox"] = json!("ana@utility.example");
                s
            }),
            ("actor", {
                let mut s = good.clone();
                s["actor"] = json!({ "name": "Ana" });
                s
            }),
            ("result.score", {
                let mut s = good.clone();
                s["result"] = json!({ "score": { "scaled": 1.2 } });
                s
            }),
            ("result.score", {
                let mut s = good.clone();
                s["result"] = json!({ "score": { "raw": 12, "min": 0, "max": 10 } });
                s
            }),
            ("timestamp", {
                let mut s = good.clone();
                s["timestamp"] = json!("yesterday");
                s
            }),
            ("id", {
                let mut s = good.clone();
                s["id"] = json!("12");
                s
            }),
        ];
        for (field, statement) in cases {
            let error = one(statement.clone()).expect_err(&statement.to_string());
            assert_eq!(field_of(error), field, "{statement}");
        }
        assert_eq!(
            field_of(statements_of_post(b"[]", Timestamp::now()).unwrap_err()),
            "body"
        );
        assert_eq!(
            field_of(statements_of_post(b"42", Timestamp::now()).unwrap_err()),
            "body"
        );
        let twice = json!([
            { "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "actor": good["actor"], "verb": good["verb"], "object": good["object"] },
            { "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "actor": good["actor"], "verb": good["verb"], "object": good["object"] },
        ]);
        assert_eq!(
            field_of(statements_of_post(twice.to_string().as_bytes(), Timestamp::now()).unwrap_err()),
            "[1].id"
        );
    }

    #[test]
    fn identities_we_cannot_match_are_kept_not_refused() {
        for (actor, kind) in [
            (
                json!({ "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9" }),
                "mbox_sha1sum",
            ),
            (json!({ "openid": "http://openid.example.org/12345" }), "openid"),
            (json!({ "objectType": "Group", "member": [] }), "group"),
        ] {
            assert_eq!(one(completed(actor)).unwrap().learner, Learner::Unidentifiable(kind));
        }
        let account = one(completed(
            json!({ "account": { "homePage": "https://lms.example.com", "name": "E-1042" } }),
        ));
        assert_eq!(
            account.unwrap().learner,
            Learner::Account {
                home_page: "https://lms.example.com".into(),
                name: "E-1042".into()
            }
        );
    }

    #[test]
    fn put_takes_its_id_from_the_parameter_and_refuses_another() {
        let body = completed(json!({ "mbox": "mailto:ana@utility.example" })).to_string();
        let id = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0";
        assert_eq!(
            statement_of_put(id, body.as_bytes(), Timestamp::now())
                .unwrap()
                .id
                .as_str(),
            id
        );
        let mut other: Value = serde_json::from_str(&body).unwrap();
        other["id"] = json!("0d41c918-b88b-4b20-a0a5-a4c32391aaa0");
        assert_eq!(
            field_of(statement_of_put(id, other.to_string().as_bytes(), Timestamp::now()).unwrap_err()),
            "id"
        );
    }
}
