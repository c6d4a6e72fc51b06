//! Evidence packages: what an auditor asks for (populations as
//! of a date, a sample of people, the audit trail of a period), the package's record while a
//! background function builds it, and the pure rules the builder applies: a member as they
//! stood on a date, rolled back from today through the audit events since, and an
//! assignment's status on a date.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, EvidencePackageId, OrgId, UserId};
use crate::model::audit::AuditEvent;
use crate::model::principal::Actor;
use crate::model::roles::RoleRef;
use crate::model::training_assignments::{TrainingAssignment, TrainingStatus};
use crate::model::users::{Member, MemberStatus};
use crate::time::{Date, Timestamp};

/// People sampled in one package: an auditor's sample is tens, and each person's files
/// are read one by one.
pub const MAX_SAMPLE_USERS: usize = 100;
/// How long a build holds its claim; past it, the next run takes the package again (the
/// builder's timeout is 15 minutes).
pub const BUILD_LEASE_SECONDS: i64 = 16 * 60;

/// What was asked for, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRequest {
    /// The date the populations are taken on (the end of that UTC day).
    pub as_of: Date,
    /// The audit trail's period, whole UTC days, `from` to `to` inclusive.
    pub from: Date,
    pub to: Date,
    /// People whose own records the package holds, in the order asked.
    #[schema(value_type = Vec<String>)]
    pub sample_user_ids: Vec<UserId>,
}

impl PackageRequest {
    /// Checks the dates against each other and `today`, and the sample's size; repeated ids
    /// count once.
    pub fn new(as_of: Date, from: Date, to: Date, sample: Vec<UserId>, today: Date) -> ApiResult<PackageRequest> {
        if as_of > today {
            return Err(ApiError::validation(
                "asOf",
                format!("`asOf` must be today ({today}) or earlier: a population is what was, not what will be"),
            ));
        }
        if to < from {
            return Err(ApiError::validation("to", "`to` must be on or after `from`"));
        }
        if from > today {
            return Err(ApiError::validation(
                "from",
                format!("`from` must be today ({today}) or earlier"),
            ));
        }
        let mut sample_user_ids: Vec<UserId> = Vec::with_capacity(sample.len());
        for id in sample {
            if !sample_user_ids.contains(&id) {
                sample_user_ids.push(id);
            }
        }
        if sample_user_ids.len() > MAX_SAMPLE_USERS {
            return Err(ApiError::validation(
                "sample.userIds",
                format!("a sample holds at most {MAX_SAMPLE_USERS} people; ask for several packages"),
            ));
        }
        Ok(PackageRequest {
            as_of,
            from,
            to,
            sample_user_ids,
        })
    }

    /// The audit trail's period as instants: `from`'s first millisecond to `to`'s last.
    pub fn audit_period(&self) -> (Timestamp, Timestamp) {
        (self.from.first_instant(), self.to.last_instant())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PackageStatus {
    /// Asked for; the builder has not taken it yet.
    Pending,
    /// A build is running (or died; its claim runs out and the next run retries).
    Building,
    Ready,
    Failed,
}

impl PackageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageStatus::Pending => "pending",
            PackageStatus::Building => "building",
            PackageStatus::Ready => "ready",
            PackageStatus::Failed => "failed",
        }
    }
}

/// One file of a built package, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageFile {
    /// The path inside the zip.
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
    /// Data rows, for a table.
    pub rows: Option<u64>,
}

/// An evidence package's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePackage {
    pub id: EvidencePackageId,
    pub organization_id: OrgId,
    pub status: PackageStatus,
    pub request: PackageRequest,
    pub requested_by: UserId,
    pub requested_with_api_key: Option<ApiKeyId>,
    pub requested_at: Timestamp,
    /// Builds started so far.
    pub attempts: u32,
    /// While `building`: when the claim runs out.
    pub claimed_until: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why a `failed` package failed (never a secret: what to change or that it may be
    /// asked for again).
    pub failure_reason: Option<String>,
    /// Where the zip is in the exports bucket, once `ready`.
    pub object_key: Option<String>,
    pub bytes: Option<u64>,
    /// The SHA-256 of `manifest.json` as stored in the zip.
    pub manifest_sha256: Option<String>,
    pub files: Vec<PackageFile>,
    pub version: u64,
}

impl EvidencePackage {
    pub fn new(actor: &Actor, request: PackageRequest, now: Timestamp) -> EvidencePackage {
        EvidencePackage {
            id: EvidencePackageId::new(),
            organization_id: actor.org_id.clone(),
            status: PackageStatus::Pending,
            request,
            requested_by: actor.user_id.clone(),
            requested_with_api_key: actor.api_key_id.clone(),
            requested_at: now,
            attempts: 0,
            claimed_until: None,
            finished_at: None,
            failure_reason: None,
            object_key: None,
            bytes: None,
            manifest_sha256: None,
            files: Vec::new(),
            version: 1,
        }
    }

    /// Whether a builder run at `now` may take it: asked for and not taken, or taken by a
    /// build whose claim ran out (`attempts` counts the builds started; giving up after
    /// a number of them is the builder's rule).
    pub fn is_buildable(&self, now: Timestamp) -> bool {
        match self.status {
            PackageStatus::Pending => true,
            PackageStatus::Building => self.claimed_until.is_none_or(|until| until < now),
            PackageStatus::Ready | PackageStatus::Failed => false,
        }
    }

    /// The record a build claims it with.
    pub fn claimed(&self, now: Timestamp) -> EvidencePackage {
        EvidencePackage {
            status: PackageStatus::Building,
            attempts: self.attempts + 1,
            claimed_until: Some(Timestamp::from_millis(now.millis() + BUILD_LEASE_SECONDS * 1000)),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// A claimed build that met a passing fault (a dependency unavailable): back in the
    /// queue for the next run, its attempt counted.
    pub fn released(&self) -> EvidencePackage {
        EvidencePackage {
            status: PackageStatus::Pending,
            claimed_until: None,
            version: self.version + 1,
            ..self.clone()
        }
    }

    pub fn ready(
        &self,
        object_key: String,
        bytes: u64,
        manifest_sha256: String,
        files: Vec<PackageFile>,
        now: Timestamp,
    ) -> Self {
        EvidencePackage {
            status: PackageStatus::Ready,
            claimed_until: None,
            finished_at: Some(now),
            object_key: Some(object_key),
            bytes: Some(bytes),
            manifest_sha256: Some(manifest_sha256),
            files,
            version: self.version + 1,
            ..self.clone()
        }
    }

    pub fn failed(&self, reason: String, now: Timestamp) -> Self {
        EvidencePackage {
            status: PackageStatus::Failed,
            claimed_until: None,
            finished_at: Some(now),
            failure_reason: Some(reason),
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// A member as they stood at the end of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberOnDate {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub title: Option<String>,
    pub external_id: Option<String>,
    pub roles: Vec<RoleRef>,
    pub status: MemberStatus,
    pub created_at: Timestamp,
}

impl MemberOnDate {
    /// The member as their record stands now.
    pub fn of(member: &Member) -> Self {
        MemberOnDate {
            user_id: member.user_id.clone(),
            email: member.email.to_string(),
            display_name: member.display_name.to_string(),
            title: member.title.clone(),
            external_id: member.external_id.clone(),
            roles: member.roles.clone(),
            status: member.status,
            created_at: member.created_at,
        }
    }
}

/// `member` as they stood at `at`: their record today, with every change recorded after `at`
/// undone (`later_events`: the organization's events after `at`, in any order; those of
/// other targets are ignored). `None` for a member added after `at`.
pub fn member_as_of(member: &Member, later_events: &[AuditEvent], at: Timestamp) -> Option<MemberOnDate> {
    if member.created_at > at {
        return None;
    }
    let mut on_date = MemberOnDate::of(member);
    let mut undone: Vec<&AuditEvent> = later_events
        .iter()
        .filter(|event| event.target_id == member.user_id.as_str() && event.occurred_at > at)
        .collect();
    // Newest first: each change is undone from the state that followed it.
    undone.sort_by(|a, b| (b.occurred_at, &b.id).cmp(&(a.occurred_at, &a.id)));
    for event in undone {
        match event.action.as_str() {
            "user.updated" | "user.deleted" => undo_member_change(&mut on_date, &event.summary),
            _ => {}
        }
    }
    Some(on_date)
}

/// Sets each field a `user.updated` / `user.deleted` summary changed back to its `from`.
fn undo_member_change(member: &mut MemberOnDate, summary: &Value) {
    let before = |field: &str| summary.get(field).and_then(|change| change.get("from"));
    if let Some(Value::String(email)) = before("email") {
        member.email = email.clone();
    }
    if let Some(Value::String(name)) = before("displayName") {
        member.display_name = name.clone();
    }
    if let Some(title) = before("title") {
        member.title = title.as_str().map(str::to_string);
    }
    if let Some(external_id) = before("externalId") {
        member.external_id = external_id.as_str().map(str::to_string);
    }
    if let Some(Value::Array(roles)) = before("roles") {
        member.roles = roles
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|role| RoleRef::parse("roles", role).ok())
            .collect();
    }
    if let Some(Value::String(status)) = before("status")
        && let Ok(status) = MemberStatus::parse("status", status)
    {
        member.status = status;
    }
}

/// An assignment's status at the end of `date` (seed 001's statuses): `None` when it did not
/// exist yet. A completion or waiver counts from its day; an open assignment past its due
/// date is overdue.
pub fn assignment_status_on(assignment: &TrainingAssignment, date: Date) -> Option<TrainingStatus> {
    if assignment.created_at.date() > date {
        return None;
    }
    let by_then = |at: Option<Timestamp>| at.is_some_and(|at| at.date() <= date);
    if by_then(assignment.state.completed_at()) {
        return Some(TrainingStatus::Complete);
    }
    if by_then(assignment.state.waiver().map(|waiver| waiver.waived_at)) {
        return Some(TrainingStatus::Waived);
    }
    if assignment.due_date < date {
        return Some(TrainingStatus::Overdue);
    }
    if by_then(assignment.state.started_at()) {
        return Some(TrainingStatus::InProgress);
    }
    Some(TrainingStatus::Assigned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::roles::SystemRole;

    fn date(text: &str) -> Date {
        Date::parse("date", text).unwrap()
    }

    #[test]
    fn a_request_refuses_a_future_as_of_a_reversed_period_and_an_oversized_sample() {
        let today = date("2026-06-30");
        let refused = |as_of: &str, from: &str, to: &str, sample: usize| {
            let ids = (0..sample).map(|_| UserId::new()).collect();
            match PackageRequest::new(date(as_of), date(from), date(to), ids, today) {
                Err(ApiError::Validation { field, .. }) => field,
                other => panic!("{as_of} {from} {to} {sample}: {other:?}"),
            }
        };
        assert_eq!(refused("2026-07-01", "2026-01-01", "2026-06-30", 0), "asOf");
        assert_eq!(refused("2026-06-30", "2026-02-01", "2026-01-31", 0), "to");
        assert_eq!(refused("2026-06-30", "2026-07-01", "2026-07-02", 0), "from");
        assert_eq!(refused("2026-06-30", "2026-01-01", "2026-06-30", 101), "sample.userIds");
        let one = UserId::new();
        let request =
            PackageRequest::new(today, date("2026-01-01"), today, vec![one.clone(), one.clone()], today).unwrap();
        assert_eq!(request.sample_user_ids, vec![one]);
        let (from, to) = request.audit_period();
        assert_eq!(from.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(to.to_string(), "2026-06-30T23:59:59.999Z");
    }

    #[test]
    fn a_member_is_rolled_back_through_the_changes_after_the_date() {
        let created = Timestamp::parse("t", "2026-01-10T09:00:00Z").unwrap();
        let member = Member {
            user_id: UserId::new(),
            organization_id: OrgId::new(),
            organization_name: "Org".into(),
            email: crate::validation::Email::parse("email", "x@example.com").unwrap(),
            display_name: crate::validation::DisplayName::parse("displayName", "Renamed").unwrap(),
            title: Some("Operator".into()),
            external_id: None,
            roles: vec![RoleRef::System(SystemRole::Viewer)],
            status: MemberStatus::Deleted,
            facility_ids: Vec::new(),
            group_ids: Vec::new(),
            profile: Default::default(),
            created_at: created,
            updated_at: created,
            deleted_at: None,
            version: 4,
        };
        let actor = Actor {
            org_id: member.organization_id.clone(),
            user_id: member.user_id.clone(),
            api_key_id: None,
        };
        let at = |text: &str| Timestamp::parse("t", text).unwrap();
        let event = |when: &str, action: &str, summary: Value| {
            AuditEvent::new(&actor, at(when), action, "user", member.user_id.as_str(), summary)
        };
        let events = vec![
            // Before the date: already in the record, never undone.
            event(
                "2026-02-01T00:00:00Z",
                "user.updated",
                serde_json::json!({"title": {"from": null, "to": "Operator"}}),
            ),
            event(
                "2026-03-05T00:00:00Z",
                "user.updated",
                serde_json::json!({"roles": {"from": ["admin"], "to": ["viewer"]}, "displayName": {"from": "Original", "to": "Renamed"}}),
            ),
            event(
                "2026-04-01T00:00:00Z",
                "user.deleted",
                serde_json::json!({"email": "x@example.com", "status": {"from": "suspended", "to": "deleted"}}),
            ),
            event(
                "2026-03-20T00:00:00Z",
                "user.updated",
                serde_json::json!({"status": {"from": "active", "to": "suspended"}}),
            ),
        ];
        let on_date = member_as_of(&member, &events, date("2026-03-01").last_instant()).unwrap();
        assert_eq!(on_date.roles, vec![RoleRef::System(SystemRole::Admin)]);
        assert_eq!(on_date.status, MemberStatus::Active);
        assert_eq!(on_date.display_name, "Original");
        assert_eq!(on_date.title.as_deref(), Some("Operator"));
        let mid = member_as_of(&member, &events, date("2026-03-25").last_instant()).unwrap();
        assert_eq!(mid.status, MemberStatus::Suspended);
        assert_eq!(mid.roles, vec![RoleRef::System(SystemRole::Viewer)]);
        assert_eq!(member_as_of(&member, &events, date("2026-01-09").last_instant()), None);
    }

    #[test]
    fn an_assignment_reads_as_it_stood_on_each_date() {
        use crate::model::training_assignments::{Completion, NewAssignment, complete, new_assignment};
        let at = |text: &str| Timestamp::parse("t", text).unwrap();
        let created = at("2026-01-02T10:00:00Z");
        let assignment = new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: UserId::new(),
                training_module_id: crate::ids::TrainingModuleId::new(),
                due_date: date("2026-01-31"),
                notes: None,
                facility_ids: vec![],
            },
            &UserId::new(),
            created,
        );
        let now = at("2026-12-01T00:00:00Z");
        let completion = Completion::parse(Some("2026-02-10T12:00:00Z"), None, None, now).unwrap();
        let done = complete(&assignment, completion, &UserId::new(), None, now).unwrap();
        let on = |day: &str| assignment_status_on(&done, date(day));
        assert_eq!(on("2026-01-01"), None);
        assert_eq!(on("2026-01-02"), Some(TrainingStatus::Assigned));
        assert_eq!(on("2026-01-31"), Some(TrainingStatus::Assigned));
        assert_eq!(on("2026-02-01"), Some(TrainingStatus::Overdue));
        assert_eq!(on("2026-02-10"), Some(TrainingStatus::Complete));
        assert_eq!(
            assignment_status_on(&assignment, date("2026-11-30")),
            Some(TrainingStatus::Overdue)
        );
    }

    #[test]
    fn a_claimed_package_finishes_ready_out_of_the_builders_hands() {
        let actor = Actor {
            org_id: OrgId::new(),
            user_id: UserId::new(),
            api_key_id: None,
        };
        let today = date("2026-06-30");
        let now = today.first_instant();
        let request = PackageRequest::new(today, today, today, vec![], today).unwrap();
        let claimed = EvidencePackage::new(&actor, request, now).claimed(now);
        assert_eq!(
            (claimed.status, claimed.attempts, claimed.version),
            (PackageStatus::Building, 1, 2)
        );
        let file = PackageFile {
            name: "manifest.json".into(),
            sha256: "ab".repeat(32),
            bytes: 10,
            rows: None,
        };
        let ready = claimed.ready("evidence/x.zip".into(), 10, "cd".repeat(32), vec![file.clone()], now);
        assert_eq!(ready.status, PackageStatus::Ready);
        assert_eq!(
            (ready.claimed_until, ready.finished_at, ready.version),
            (None, Some(now), 3)
        );
        assert_eq!(ready.files, vec![file]);
        assert!(!ready.is_buildable(Timestamp::from_millis(now.millis() + 3_600_000)));
    }
}
