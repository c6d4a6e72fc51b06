//! What an LMS reports as xAPI statements (`POST /xapi/statements`), as the product reads
//! them, and the record kept of each: what it changed, or why it changed nothing. The door
//! (`xapi/`) turns the statement's JSON into an `LmsReport`; the rules here need no I/O.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId, TrainingAssignmentId, TrainingModuleId, UserId};
use crate::time::Timestamp;
use crate::validation::Email;

/// A statement's id: a UUID, kept in its lowercase hyphenated form (the same statement
/// sent with upper-case hex is the same statement).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatementId(String);

impl StatementId {
    pub fn new() -> Self {
        StatementId(
            uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .hyphenated()
                .to_string(),
        )
    }

    pub fn parse(field: &str, text: &str) -> ApiResult<Self> {
        // xAPI ids are UUIDs written with hyphens (RFC 4122); other spellings uuid accepts
        // (braces, no hyphens, a URN) are refused so one statement has one id.
        let hyphenated = text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4;
        match uuid::Uuid::try_parse(text) {
            Ok(id) if hyphenated => Ok(StatementId(id.hyphenated().to_string())),
            _ => Err(ApiError::validation(
                field,
                format!("`{field}` must be a UUID such as `fd41c918-b88b-4b20-a0a5-a4c32391aaa0`"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for StatementId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for StatementId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who the statement is about (its `actor`).
#[derive(Debug, Clone, PartialEq)]
pub enum Learner {
    /// `mbox: "mailto:…"`: matched to the member with that email.
    Email(Email),
    /// `account: {homePage, name}`: `name` matched to a member's `externalId`.
    Account { home_page: String, name: String },
    /// An identity we cannot match (`mbox_sha1sum`, `openid`, a group): kept, reported.
    Unidentifiable(&'static str),
}

/// What a verb asks of the person's open assignment for the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `completed`, `passed`, cmi5's `satisfied`: the assignment is complete.
    Complete,
    /// `failed`: an attempt; it completes nothing (the assignment is started if it was not).
    Attempt,
    /// `launched`, `initialized`, `attempted`: the trainee began (`assigned` → `in_progress`).
    Start,
    /// Any other verb: the statement is kept and changes nothing.
    None,
}

const ADL: &str = "http://adlnet.gov/expapi/verbs/";
const ADL_W3ID: &str = "https://w3id.org/xapi/adl/verbs/";

impl Effect {
    /// The ADL verbs of xAPI 1.0 and those cmi5 adds under w3id.org.
    pub fn of_verb(iri: &str) -> Effect {
        let adl = iri.strip_prefix(ADL);
        let w3id = iri.strip_prefix(ADL_W3ID);
        match (adl, w3id) {
            (Some("completed" | "passed"), _) | (_, Some("satisfied")) => Effect::Complete,
            (Some("failed"), _) => Effect::Attempt,
            (Some("launched" | "initialized" | "attempted"), _) => Effect::Start,
            _ => Effect::None,
        }
    }
}

/// A statement's `result.score`, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReportedScore {
    pub scaled: Option<f64>,
    pub raw: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ReportedScore {
    /// xAPI's own bounds (§4.2.1.4 of the data model): `scaled` from -1 to 1, `min` below
    /// `max`, `raw` between them.
    pub fn check(&self, field: &str) -> ApiResult<()> {
        let invalid = |why: &str| Err(ApiError::validation(field, format!("`{field}`: {why}")));
        let finite = [self.scaled, self.raw, self.min, self.max]
            .into_iter()
            .flatten()
            .all(f64::is_finite);
        if !finite {
            return invalid("every value must be a number");
        }
        if self.scaled.is_some_and(|scaled| !(-1.0..=1.0).contains(&scaled)) {
            return invalid("`scaled` must be from -1 to 1");
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min >= max
        {
            return invalid("`min` must be less than `max`");
        }
        if let Some(raw) = self.raw
            && (self.min.is_some_and(|min| raw < min) || self.max.is_some_and(|max| raw > max))
        {
            return invalid("`raw` must be between `min` and `max`");
        }
        Ok(())
    }

    /// The completion's score, a whole percentage: `scaled` × 100, else `raw` within
    /// `min`–`max`, else a `raw` that is already a percentage. `None` when nothing was
    /// sent; an error (naming `field`) for a score a completion cannot hold, rather than
    /// dropping it.
    pub fn percentage(&self, field: &str) -> ApiResult<Option<u8>> {
        let percent = match (self.scaled, self.raw, self.min, self.max) {
            (Some(scaled), _, _, _) => scaled * 100.0,
            (None, Some(raw), Some(min), Some(max)) => (raw - min) / (max - min) * 100.0,
            (None, Some(raw), None, None) => raw,
            (None, None, _, _) => return Ok(None),
            (None, Some(_), _, _) => {
                return Err(ApiError::validation(
                    field,
                    format!("`{field}`: a `raw` score needs both `min` and `max`, or `scaled`"),
                ));
            }
        };
        if !(0.0..=100.0).contains(&percent) {
            return Err(ApiError::validation(
                field,
                format!("`{field}`: a completion's score is 0–100 %; this one is {percent}"),
            ));
        }
        Ok(Some(percent.round() as u8))
    }
}

/// A statement, read: what matching and the commands need, and its JSON as received
/// (the `id` filled in) to keep and to compare with a statement sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct LmsReport {
    pub id: StatementId,
    pub learner: Learner,
    pub verb: String,
    /// `object.id` when the object is an activity; `None` for an agent, a statement
    /// reference or a sub-statement.
    pub activity_id: Option<String>,
    pub timestamp: Option<Timestamp>,
    pub score: ReportedScore,
    /// The completion's score, for a verb that completes (`ReportedScore::percentage`).
    pub completion_score: Option<u8>,
    pub statement: serde_json::Value,
}

/// How far ahead of our clock a statement's `timestamp` may be (an LMS's clock drifts).
pub const TIMESTAMP_LEEWAY_MILLIS: i64 = 5 * 60 * 1000;

impl LmsReport {
    pub fn effect(&self) -> Effect {
        Effect::of_verb(&self.verb)
    }

    /// Refuses a `timestamp` more than `TIMESTAMP_LEEWAY_MILLIS` in the future.
    pub fn check_timestamp(&self, field: &str, now: Timestamp) -> ApiResult<()> {
        match self.timestamp {
            Some(at) if at.millis() > now.millis() + TIMESTAMP_LEEWAY_MILLIS => Err(ApiError::validation(
                field,
                format!("statement {}: `timestamp` {at} is in the future", self.id),
            )),
            _ => Ok(()),
        }
    }

    /// When the completion happened: the statement's `timestamp` (one within the leeway
    /// ahead of our clock counts as now), else when we received it.
    pub fn completed_at(&self, now: Timestamp) -> Timestamp {
        self.timestamp.map_or(now, |at| at.min(now))
    }
}

/// What a statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementOutcome {
    /// It completed the person's open assignment (`trainingAssignmentId`).
    Completed,
    /// It moved the assignment from `assigned` to `in_progress`, or found it already there.
    Started,
    /// A `failed` attempt: kept; the assignment stays open.
    AttemptRecorded,
    /// A verb that changes nothing here (`experienced`, `terminated`, …): kept.
    Ignored,
    /// It matched no member, no module or no open assignment (`unmatchedReason`).
    Unmatched,
}

/// Why a statement matched nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedReason {
    /// The actor is identified in a way we cannot match (`mbox_sha1sum`, `openid`, a group).
    ActorNotIdentifiable,
    /// No member of the organization has the actor's email or `externalId`.
    UnknownActor,
    /// Several members have the actor's `externalId`.
    AmbiguousActor,
    /// The member has been deleted.
    ActorNotActive,
    /// The object is not an activity.
    NotAnActivity,
    /// No training module has the activity id as its `externalModuleUrl`.
    UnknownActivity,
    /// Several training modules have the activity id as their `externalModuleUrl`.
    AmbiguousActivity,
    /// The member has no open assignment of that module.
    NoOpenAssignment,
}

impl UnmatchedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnmatchedReason::ActorNotIdentifiable => "actor_not_identifiable",
            UnmatchedReason::UnknownActor => "unknown_actor",
            UnmatchedReason::AmbiguousActor => "ambiguous_actor",
            UnmatchedReason::ActorNotActive => "actor_not_active",
            UnmatchedReason::NotAnActivity => "not_an_activity",
            UnmatchedReason::UnknownActivity => "unknown_activity",
            UnmatchedReason::AmbiguousActivity => "ambiguous_activity",
            UnmatchedReason::NoOpenAssignment => "no_open_assignment",
        }
    }
}

/// A statement as stored: the JSON as received, who sent it, and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredStatement {
    pub id: StatementId,
    pub organization_id: OrgId,
    /// The statement's JSON as received, with its `id`; never rewritten.
    pub statement: String,
    pub verb: String,
    pub stored_at: Timestamp,
    /// The member whose key sent it (the LRS's `authority`).
    pub stored_by: UserId,
    pub api_key_id: Option<ApiKeyId>,
    pub outcome: StatementOutcome,
    pub unmatched_reason: Option<UnmatchedReason>,
    pub user_id: Option<UserId>,
    pub training_module_id: Option<TrainingModuleId>,
    pub training_assignment_id: Option<TrainingAssignmentId>,
}

/// A statement is at most this large, as JSON: far above any real one, and well under
/// DynamoDB's 400 KB item (the stored item adds a few hundred bytes).
pub const MAX_STATEMENT_BYTES: usize = 64 * 1024;

/// At most this many statements in one `POST` (each is its own change).
pub const MAX_STATEMENTS_PER_REQUEST: usize = 50;

/// Whether a statement sent again is the one stored: the same JSON, property order aside
/// (xAPI: the same id with other content is a `409`).
pub fn same_statement(stored: &str, sent: &serde_json::Value) -> bool {
    serde_json::from_str::<serde_json::Value>(stored).is_ok_and(|stored| &stored == sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adl_and_cmi5_verbs_have_their_effects_and_others_none() {
        assert_eq!(
            Effect::of_verb("http://adlnet.gov/expapi/verbs/completed"),
            Effect::Complete
        );
        assert_eq!(
            Effect::of_verb("http://adlnet.gov/expapi/verbs/passed"),
            Effect::Complete
        );
        assert_eq!(
            Effect::of_verb("https://w3id.org/xapi/adl/verbs/satisfied"),
            Effect::Complete
        );
        assert_eq!(
            Effect::of_verb("http://adlnet.gov/expapi/verbs/failed"),
            Effect::Attempt
        );
        for verb in ["launched", "initialized", "attempted"] {
            assert_eq!(Effect::of_verb(&format!("{ADL}{verb}")), Effect::Start, "{verb}");
        }
        for verb in [
            "http://adlnet.gov/expapi/verbs/experienced",
            "http://adlnet.gov/expapi/verbs/terminated",
            "https://w3id.org/xapi/adl/verbs/waived",
            "https://example.com/verbs/completed",
            "http://adlnet.gov/expapi/verbs/completedx",
        ] {
            assert_eq!(Effect::of_verb(verb), Effect::None, "{verb}");
        }
    }

    #[test]
    fn scores_become_whole_percentages_or_are_refused_by_name() {
        let score = |scaled, raw, min, max| ReportedScore { scaled, raw, min, max };
        assert_eq!(score(Some(0.954), None, None, None).percentage("s").unwrap(), Some(95));
        assert_eq!(
            score(None, Some(42.0), Some(0.0), Some(50.0)).percentage("s").unwrap(),
            Some(84)
        );
        assert_eq!(score(None, Some(87.0), None, None).percentage("s").unwrap(), Some(87));
        assert_eq!(score(None, None, Some(0.0), Some(10.0)).percentage("s").unwrap(), None);
        assert!(score(Some(-0.5), None, None, None).percentage("s").is_err());
        assert!(score(None, Some(150.0), None, None).percentage("s").is_err());
        assert!(score(None, Some(5.0), Some(0.0), None).percentage("s").is_err());
        assert!(score(Some(1.5), None, None, None).check("s").is_err());
        assert!(score(None, Some(11.0), Some(0.0), Some(10.0)).check("s").is_err());
        assert!(score(None, None, Some(10.0), Some(10.0)).check("s").is_err());
        assert!(score(Some(-1.0), Some(3.0), Some(0.0), Some(10.0)).check("s").is_ok());
    }

    #[test]
    fn a_statement_id_has_one_spelling() {
        let id = StatementId::parse("id", "FD41C918-B88B-4B20-A0A5-A4C32391AAA0").unwrap();
        assert_eq!(id.as_str(), "fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
        for other in [
            "fd41c918b88b4b20a0a5a4c32391aaa0",
            "{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}",
            "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "not-a-uuid",
            "",
        ] {
            assert!(StatementId::parse("id", other).is_err(), "{other}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_statement_id_reads_back_through_its_text(bytes in proptest::prelude::any::<[u8; 16]>()) {
            let text = uuid::Uuid::from_bytes(bytes).hyphenated().to_string();
            let id = StatementId::parse("id", &text).unwrap();
            proptest::prop_assert_eq!(StatementId::parse("id", id.as_str()).unwrap(), id.clone());
            let stored = serde_json::to_string(&id).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<StatementId>(&stored).unwrap(), id);
        }
    }
}
