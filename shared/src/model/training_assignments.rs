//! Training assignments (CIP-004 R2): a person × a training module, due on a date, scoped
//! to the facilities whose BES Cyber Systems the person may access, and — once closed — a
//! completion record or a waiver that is evidence for an auditor and never changes again.
//!
//! An assignment's *state* (assigned → in progress → complete, or waived) carries the data
//! that state needs (`model::assignment_state`); the *status* the API reports also reads
//! the calendar: an open assignment past its due date is `overdue`, whether or not a
//! scheduled job has run.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, TrainingAssignmentId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::assignment_state::{AssignmentState, CompletionRecord, Expiry, RenewalMark, Waiver};
use crate::time::{Date, Timestamp};
use crate::validation;

pub const MAX_NOTES_LENGTH: usize = 2000;
pub const MAX_REASON_LENGTH: usize = 2000;
pub const MAX_CERTIFICATE_REFERENCE_LENGTH: usize = 200;
/// A completion is renewed, and reads `expiring`, this many days before it expires
/// (`RAPTOR_RENEWAL_WINDOW_DAYS` sets it per deployment).
pub const DEFAULT_RENEWAL_WINDOW_DAYS: u32 = 30;
pub const MAX_RENEWAL_WINDOW_DAYS: u32 = 365;
/// Keeps every change of an assignment in one DynamoDB transaction (three items a facility).
pub const MAX_FACILITIES_PER_ASSIGNMENT: usize = 25;

// The stored name of an assignment's state (`AssignmentState`).
/// Where an assignment is in its life; time does not enter into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Assigned,
    InProgress,
    Complete,
    Waived,
}

/// The status values of seed 001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingStatus {
    Assigned,
    InProgress,
    Complete,
    Overdue,
    Waived,
}

impl TrainingStatus {
    pub fn parse(field: &str, text: &str) -> ApiResult<TrainingStatus> {
        match text {
            "assigned" => Ok(TrainingStatus::Assigned),
            "in_progress" => Ok(TrainingStatus::InProgress),
            "complete" => Ok(TrainingStatus::Complete),
            "overdue" => Ok(TrainingStatus::Overdue),
            "waived" => Ok(TrainingStatus::Waived),
            _ => Err(ApiError::validation(
                field,
                format!("`{field}` must be assigned, in_progress, complete, overdue or waived"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrainingStatus::Assigned => "assigned",
            TrainingStatus::InProgress => "in_progress",
            TrainingStatus::Complete => "complete",
            TrainingStatus::Overdue => "overdue",
            TrainingStatus::Waived => "waived",
        }
    }
}

/// A training assignment: a person × a module, due on a date, in a state that carries
/// its own data. Stored in its flat form (`StoredAssignment`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "StoredAssignment", into = "StoredAssignment")]
pub struct TrainingAssignment {
    pub id: TrainingAssignmentId,
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub state: AssignmentState,
    /// The status as of the last write, for readers of the raw table; the API computes it.
    pub status: TrainingStatus,
    pub due_date: Date,
    pub notes: Option<String>,
    pub facility_ids: Vec<FacilityId>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
    /// The completed assignment this one renews (made by the daily job).
    pub renewal_of: Option<TrainingAssignmentId>,
    /// The training requirement that made it (or the one its renewal came from).
    pub requirement_id: Option<TrainingRequirementId>,
    /// When the daily job stored the status `overdue`.
    pub marked_overdue_at: Option<Timestamp>,
}

impl TrainingAssignment {
    /// Where the assignment is in its life, without the state's data (the stored `progress`).
    pub fn progress(&self) -> Progress {
        match self.state {
            AssignmentState::Assigned => Progress::Assigned,
            AssignmentState::InProgress { .. } => Progress::InProgress,
            AssignmentState::Complete { .. } => Progress::Complete,
            AssignmentState::Waived { .. } => Progress::Waived,
        }
    }

    /// Seed 001's status on `today` (UTC): an open assignment past its due date is overdue.
    pub fn status_on(&self, today: Date) -> TrainingStatus {
        match self.state {
            AssignmentState::Complete { .. } => TrainingStatus::Complete,
            AssignmentState::Waived { .. } => TrainingStatus::Waived,
            _ if self.due_date < today => TrainingStatus::Overdue,
            AssignmentState::Assigned => TrainingStatus::Assigned,
            AssignmentState::InProgress { .. } => TrainingStatus::InProgress,
        }
    }

    /// A completion or waiver is evidence: once closed, the record does not change.
    pub fn require_open(&self) -> ApiResult<()> {
        if self.state.is_open() {
            Ok(())
        } else {
            Err(ApiError::conflict(format!(
                "this assignment is {}; a closed assignment's record cannot change",
                self.state.name()
            )))
        }
    }

    /// Whether the completion was recorded by the trainee's own key (`completedBy` is the
    /// assignee): allowed, since an LMS may report through the person's own integration,
    /// but an auditor must see it. `None` until there is a completion.
    pub fn self_reported(&self) -> Option<bool> {
        self.state
            .completion()
            .map(|completion| completion.completed_by == self.user_id)
    }

    /// Whether the daily job has yet to store `overdue` on this open assignment when its
    /// due date passes (the sparse index of open assignments by due date holds these).
    pub fn awaits_overdue_mark(&self) -> bool {
        self.state.is_open() && self.status != TrainingStatus::Overdue
    }

    /// Whether the daily job has yet to renew this completion (the sparse index of
    /// completions by expiry holds these).
    pub fn awaits_renewal(&self) -> bool {
        self.state.renewal() == Some(&RenewalMark::Awaited)
    }

    /// The next version of this record, written at `now`.
    pub fn next_version(&self, now: Timestamp, today: Date) -> TrainingAssignment {
        let mut next = self.clone();
        next.updated_at = now;
        next.version = self.version + 1;
        next.status = next.status_on(today);
        next
    }
}

// Every state's fields side by side, unset where the state has none. The field order and
// the doc comments are the stored JSON's and the `training_assignment.deleted` payload's
// schema (docs/events.json): keep them.
/// A training assignment as stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TrainingAssignment)]
pub struct StoredAssignment {
    pub id: TrainingAssignmentId,
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub progress: Progress,
    /// The status as of the last write, for readers of the raw table; the API computes it.
    pub status: TrainingStatus,
    pub due_date: Date,
    pub notes: Option<String>,
    pub facility_ids: Vec<FacilityId>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub completed_by: Option<UserId>,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    /// The xAPI statement an LMS reported the completion with.
    #[serde(default)]
    pub source_statement_id: Option<String>,
    /// `completedAt` + the module's `completionIntervalDays` at completion; `None`: never.
    pub expires_at: Option<Timestamp>,
    pub waived_at: Option<Timestamp>,
    pub waived_by: Option<UserId>,
    pub waiver_reason: Option<String>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
    /// The completed assignment this one renews (made by the daily job).
    #[serde(default)]
    pub renewal_of: Option<TrainingAssignmentId>,
    #[serde(default)]
    pub requirement_id: Option<TrainingRequirementId>,
    /// On a completed assignment: the renewal the daily job made for it. The completion
    /// record itself never changes; this link is written once.
    #[serde(default)]
    pub renewed_by: Option<TrainingAssignmentId>,
    /// On a completed assignment: why the daily job made no renewal (written once).
    #[serde(default)]
    pub renewal_skipped: Option<String>,
    /// When the daily job stored the status `overdue`.
    #[serde(default)]
    pub marked_overdue_at: Option<Timestamp>,
}

impl From<TrainingAssignment> for StoredAssignment {
    fn from(assignment: TrainingAssignment) -> Self {
        let started_at = assignment.state.started_at();
        let progress = assignment.progress();
        let (completion, waiver) = match assignment.state {
            AssignmentState::Complete { completion, .. } => (Some(completion), None),
            AssignmentState::Waived { waiver, .. } => (None, Some(waiver)),
            AssignmentState::Assigned | AssignmentState::InProgress { .. } => (None, None),
        };
        let expiry = completion.as_ref().and_then(|completion| completion.expiry.clone());
        let (renewed_by, renewal_skipped) = match expiry.as_ref().map(|expiry| &expiry.renewal) {
            Some(RenewalMark::RenewedBy(renewal)) => (Some(renewal.clone()), None),
            Some(RenewalMark::Skipped(reason)) => (None, Some(reason.clone())),
            Some(RenewalMark::Awaited) | None => (None, None),
        };
        let (completed_at, completed_by, score, certificate_reference, source_statement_id) = match completion {
            Some(completion) => (
                Some(completion.completed_at),
                Some(completion.completed_by),
                completion.score,
                completion.certificate_reference,
                completion.source_statement_id,
            ),
            None => (None, None, None, None, None),
        };
        let (waived_at, waived_by, waiver_reason) = match waiver {
            Some(waiver) => (Some(waiver.waived_at), Some(waiver.waived_by), Some(waiver.reason)),
            None => (None, None, None),
        };
        StoredAssignment {
            id: assignment.id,
            organization_id: assignment.organization_id,
            user_id: assignment.user_id,
            training_module_id: assignment.training_module_id,
            progress,
            status: assignment.status,
            due_date: assignment.due_date,
            notes: assignment.notes,
            facility_ids: assignment.facility_ids,
            started_at,
            completed_at,
            completed_by,
            score,
            certificate_reference,
            source_statement_id,
            expires_at: expiry.map(|expiry| expiry.expires_at),
            waived_at,
            waived_by,
            waiver_reason,
            created_by: assignment.created_by,
            created_at: assignment.created_at,
            updated_at: assignment.updated_at,
            version: assignment.version,
            renewal_of: assignment.renewal_of,
            requirement_id: assignment.requirement_id,
            renewed_by,
            renewal_skipped,
            marked_overdue_at: assignment.marked_overdue_at,
        }
    }
}

impl TryFrom<StoredAssignment> for TrainingAssignment {
    type Error = String;

    /// Refuses a flat item that no state explains (a completion without its time, a
    /// waiver on an open assignment, a renewal mark on a completion that never expires).
    fn try_from(stored: StoredAssignment) -> Result<Self, String> {
        let invalid = |why: &str| Err(format!("training assignment {}: {why}", stored.id));
        let has_completion = stored.completed_at.is_some()
            || stored.completed_by.is_some()
            || stored.score.is_some()
            || stored.certificate_reference.is_some()
            || stored.source_statement_id.is_some()
            || stored.expires_at.is_some()
            || stored.renewed_by.is_some()
            || stored.renewal_skipped.is_some();
        let has_waiver = stored.waived_at.is_some() || stored.waived_by.is_some() || stored.waiver_reason.is_some();
        let state = match stored.progress {
            Progress::Assigned | Progress::InProgress if has_completion || has_waiver => {
                return invalid("an open assignment has no completion or waiver");
            }
            Progress::Assigned if stored.started_at.is_some() => {
                return invalid("an assigned assignment has not started");
            }
            Progress::Assigned => AssignmentState::Assigned,
            Progress::InProgress => match stored.started_at {
                Some(started_at) => AssignmentState::InProgress { started_at },
                None => return invalid("an assignment in progress has its start time"),
            },
            Progress::Complete if has_waiver => return invalid("a complete assignment has no waiver"),
            Progress::Complete => {
                let (Some(completed_at), Some(completed_by)) = (stored.completed_at, stored.completed_by.clone())
                else {
                    return invalid("a complete assignment has its completion time and who recorded it");
                };
                let expiry = match (
                    stored.expires_at,
                    stored.renewed_by.clone(),
                    stored.renewal_skipped.clone(),
                ) {
                    (None, None, None) => None,
                    (None, _, _) => return invalid("only a completion that expires is renewed"),
                    (Some(_), Some(_), Some(_)) => return invalid("a completion is renewed or skipped, not both"),
                    (Some(expires_at), renewed_by, skipped) => Some(Expiry {
                        expires_at,
                        renewal: match (renewed_by, skipped) {
                            (Some(renewal), _) => RenewalMark::RenewedBy(renewal),
                            (None, Some(reason)) => RenewalMark::Skipped(reason),
                            (None, None) => RenewalMark::Awaited,
                        },
                    }),
                };
                AssignmentState::Complete {
                    started_at: stored.started_at,
                    completion: CompletionRecord {
                        completed_at,
                        completed_by,
                        score: stored.score,
                        certificate_reference: stored.certificate_reference.clone(),
                        source_statement_id: stored.source_statement_id.clone(),
                        expiry,
                    },
                }
            }
            Progress::Waived if has_completion => return invalid("a waived assignment has no completion"),
            Progress::Waived => {
                let (Some(waived_at), Some(waived_by), Some(reason)) =
                    (stored.waived_at, stored.waived_by.clone(), stored.waiver_reason.clone())
                else {
                    return invalid("a waived assignment has its time, approver and reason");
                };
                AssignmentState::Waived {
                    started_at: stored.started_at,
                    waiver: Waiver {
                        waived_at,
                        waived_by,
                        reason,
                    },
                }
            }
        };
        Ok(TrainingAssignment {
            id: stored.id,
            organization_id: stored.organization_id,
            user_id: stored.user_id,
            training_module_id: stored.training_module_id,
            state,
            status: stored.status,
            due_date: stored.due_date,
            notes: stored.notes,
            facility_ids: stored.facility_ids,
            created_by: stored.created_by,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            version: stored.version,
            renewal_of: stored.renewal_of,
            requirement_id: stored.requirement_id,
            marked_overdue_at: stored.marked_overdue_at,
        })
    }
}

/// A facility as an assignment's scope shows it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ScopedFacility {
    pub id: FacilityId,
    pub name: String,
}

/// The fields an assignment update changes (absent: unchanged; `Some(None)`: notes
/// cleared), parsed from `UpdateTrainingAssignment`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssignmentEdit {
    pub due_date: Option<Date>,
    pub notes: Option<Option<String>>,
    pub training_module_id: Option<TrainingModuleId>,
}

pub fn notes(value: Option<&str>) -> ApiResult<Option<String>> {
    validation::optional_free_text("notes", value, MAX_NOTES_LENGTH)
}

/// The facility ids of a request, each once, in the order given.
pub fn facility_ids(field: &str, ids: Vec<FacilityId>) -> ApiResult<Vec<FacilityId>> {
    let mut unique: Vec<FacilityId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    if unique.len() > MAX_FACILITIES_PER_ASSIGNMENT {
        return Err(ApiError::validation(
            field,
            format!("an assignment may be scoped to at most {MAX_FACILITIES_PER_ASSIGNMENT} facilities"),
        ));
    }
    Ok(unique)
}

/// What a completion records: when (default now, never in the future), the score (0–100)
/// and the certificate reference, and when the completion stops counting.
pub struct Completion {
    pub completed_at: Timestamp,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    /// The xAPI statement that reported it, when an LMS did.
    pub source_statement_id: Option<String>,
}

impl Completion {
    /// A completion as reported at `now`: `completedAt` defaults to now and is never in
    /// the future, a score is a whole number from 0 to 100.
    pub fn parse(
        completed_at: Option<&str>,
        score: Option<i64>,
        certificate_reference: Option<&str>,
        now: Timestamp,
    ) -> ApiResult<Completion> {
        let completed_at = match completed_at {
            Some(text) => Timestamp::parse("completedAt", text)?,
            None => now,
        };
        if completed_at > now {
            return Err(ApiError::validation(
                "completedAt",
                "`completedAt` must not be in the future",
            ));
        }
        let score = score
            .map(|score| {
                u8::try_from(score)
                    .ok()
                    .filter(|score| *score <= 100)
                    .ok_or_else(|| ApiError::validation("score", "`score` must be a whole number from 0 to 100"))
            })
            .transpose()?;
        Ok(Completion {
            completed_at,
            score,
            certificate_reference: validation::optional_one_line_text(
                "certificateReference",
                certificate_reference,
                MAX_CERTIFICATE_REFERENCE_LENGTH,
            )?,
            source_statement_id: None,
        })
    }
}

/// Records a completion on an open assignment (CIP-004 R2 evidence).
pub fn complete(
    assignment: &TrainingAssignment,
    completion: Completion,
    completed_by: &UserId,
    completion_interval_days: Option<u32>,
    now: Timestamp,
) -> ApiResult<TrainingAssignment> {
    assignment.require_open()?;
    let mut next = assignment.clone();
    next.state = AssignmentState::Complete {
        started_at: assignment.state.started_at(),
        completion: CompletionRecord {
            completed_at: completion.completed_at,
            completed_by: completed_by.clone(),
            score: completion.score,
            certificate_reference: completion.certificate_reference,
            source_statement_id: completion.source_statement_id,
            expiry: completion_interval_days.map(|days| Expiry {
                expires_at: completion.completed_at.plus_days(days),
                renewal: RenewalMark::Awaited,
            }),
        },
    };
    Ok(next.next_version(now, now.date()))
}

/// What an LMS reports when the trainee opens the course. Starting twice changes nothing.
pub fn start(assignment: &TrainingAssignment, now: Timestamp) -> ApiResult<Option<TrainingAssignment>> {
    assignment.require_open()?;
    if let AssignmentState::InProgress { .. } = assignment.state {
        return Ok(None);
    }
    let mut next = assignment.clone();
    next.state = AssignmentState::InProgress { started_at: now };
    Ok(Some(next.next_version(now, now.date())))
}

/// A formal waiver by an authorized approver (the caller), with the reason. The approver
/// is never the person the waiver excuses: a waiver is someone else's judgement that the
/// training is not needed, and one's own would leave the record without any.
pub fn waive(
    assignment: &TrainingAssignment,
    reason: &str,
    approver: &UserId,
    now: Timestamp,
) -> ApiResult<TrainingAssignment> {
    if approver == &assignment.user_id {
        return Err(ApiError::forbidden_action(
            "you cannot waive your own training assignment: a waiver needs someone else holding training:waive to approve it",
        ));
    }
    assignment.require_open()?;
    let mut next = assignment.clone();
    next.state = AssignmentState::Waived {
        started_at: assignment.state.started_at(),
        waiver: Waiver {
            waived_at: now,
            waived_by: approver.clone(),
            reason: validation::free_text("reason", reason, MAX_REASON_LENGTH)?,
        },
    };
    Ok(next.next_version(now, now.date()))
}

/// Which assignments a list shows and in which order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssignmentQuery {
    pub user_id: Option<UserId>,
    pub module_id: Option<TrainingModuleId>,
    pub facility_id: Option<FacilityId>,
    pub status: Option<TrainingStatus>,
    pub completed_after: Option<Timestamp>,
    pub completed_before: Option<Timestamp>,
    pub due_before: Option<Date>,
    pub expires_before: Option<Timestamp>,
    pub sort: AssignmentSort,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssignmentSort {
    #[default]
    CreatedAt,
    DueDate,
    CompletedAt,
    ExpiresAt,
}

impl AssignmentSort {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentSort::CreatedAt => "createdAt",
            AssignmentSort::DueDate => "dueDate",
            AssignmentSort::CompletedAt => "completedAt",
            AssignmentSort::ExpiresAt => "expiresAt",
        }
    }
}

/// The raw query parameters of `GET /training-assignments`.
#[derive(Debug, Default)]
pub struct AssignmentQueryText<'a> {
    pub user_id: Option<&'a str>,
    pub module_id: Option<&'a str>,
    pub facility_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub completed_after: Option<&'a str>,
    pub completed_before: Option<&'a str>,
    pub due_before: Option<&'a str>,
    pub expires_before: Option<&'a str>,
    pub sort: Option<&'a str>,
}

impl AssignmentQuery {
    /// Parses the filters and the sort. Without `sort`, a date-range filter orders by its
    /// own date (so that its index serves it); otherwise the order is by creation.
    pub fn parse(text: &AssignmentQueryText<'_>) -> ApiResult<AssignmentQuery> {
        let mut query = AssignmentQuery {
            user_id: text.user_id.map(|id| UserId::parse("userId", id)).transpose()?,
            module_id: text
                .module_id
                .map(|id| TrainingModuleId::parse("moduleId", id))
                .transpose()?,
            facility_id: text
                .facility_id
                .map(|id| FacilityId::parse("facilityId", id))
                .transpose()?,
            status: text
                .status
                .map(|status| TrainingStatus::parse("status", status))
                .transpose()?,
            completed_after: text
                .completed_after
                .map(|t| Timestamp::parse("completedAfter", t))
                .transpose()?,
            completed_before: text
                .completed_before
                .map(|t| Timestamp::parse("completedBefore", t))
                .transpose()?,
            due_before: text.due_before.map(|d| Date::parse("dueBefore", d)).transpose()?,
            expires_before: text
                .expires_before
                .map(|t| Timestamp::parse("expiresBefore", t))
                .transpose()?,
            ..AssignmentQuery::default()
        };
        match text.sort {
            Some(sort) => {
                let (descending, field) = match sort.strip_prefix('-') {
                    Some(field) => (true, field),
                    None => (false, sort),
                };
                query.descending = descending;
                query.sort = match field {
                    "createdAt" => AssignmentSort::CreatedAt,
                    "dueDate" => AssignmentSort::DueDate,
                    "completedAt" => AssignmentSort::CompletedAt,
                    "expiresAt" => AssignmentSort::ExpiresAt,
                    _ => {
                        return Err(ApiError::validation(
                            "sort",
                            "`sort` must be dueDate, completedAt, expiresAt or createdAt, with `-` for descending",
                        ));
                    }
                };
            }
            None if query.completed_after.is_some() || query.completed_before.is_some() => {
                query.sort = AssignmentSort::CompletedAt;
            }
            None if query.expires_before.is_some() => query.sort = AssignmentSort::ExpiresAt,
            None if query.due_before.is_some() => query.sort = AssignmentSort::DueDate,
            None => {}
        }
        // The range becomes a key condition `BETWEEN <after> AND <before>`, which DynamoDB
        // refuses reversed (a 500), while the emulator answers it with nothing.
        if let (Some(after), Some(before)) = (query.completed_after, query.completed_before)
            && after > before
        {
            return Err(ApiError::validation(
                "completedBefore",
                "`completedBefore` must not be earlier than `completedAfter`",
            ));
        }
        let closed_only = matches!(query.sort, AssignmentSort::CompletedAt | AssignmentSort::ExpiresAt)
            || query.completed_after.is_some()
            || query.completed_before.is_some()
            || query.expires_before.is_some();
        if closed_only && query.status.is_some_and(|status| status != TrainingStatus::Complete) {
            return Err(ApiError::validation(
                "status",
                "completion dates and expiry exist only on complete assignments: use status=complete or leave status out",
            ));
        }
        Ok(query)
    }

    /// Names the query for its cursor, so a cursor only continues the query it came from.
    pub fn fingerprint(&self) -> String {
        format!(
            "training-assignments?{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}",
            self.user_id.as_ref().map(|id| id.as_str()),
            self.module_id.as_ref().map(|id| id.as_str()),
            self.facility_id.as_ref().map(|id| id.as_str()),
            self.status.map(TrainingStatus::as_str),
            self.completed_after.map(|t| t.millis()),
            self.completed_before.map(|t| t.millis()),
            self.due_before.map(|d| d.to_string()),
            self.expires_before.map(|t| t.millis()),
            self.sort.as_str(),
            self.descending
        )
    }

    /// Whether an assignment belongs in the answer on `today`: the same test the store's
    /// keys and filter expressions make, for rows read by another path (facility scope).
    pub fn matches(&self, assignment: &TrainingAssignment, today: Date) -> bool {
        let before = |value: Option<Timestamp>, bound: Option<Timestamp>| match bound {
            None => true,
            Some(bound) => value.is_some_and(|value| value < bound),
        };
        let after = |value: Option<Timestamp>, bound: Option<Timestamp>| match bound {
            None => true,
            Some(bound) => value.is_some_and(|value| value >= bound),
        };
        let completed_at = assignment.state.completed_at();
        let expires_at = assignment.state.expires_at();
        let sorted_by_a_completion = match self.sort {
            AssignmentSort::CompletedAt => completed_at.is_some(),
            AssignmentSort::ExpiresAt => expires_at.is_some(),
            _ => true,
        };
        self.user_id.as_ref().is_none_or(|id| id == &assignment.user_id)
            && self
                .module_id
                .as_ref()
                .is_none_or(|id| id == &assignment.training_module_id)
            && self
                .facility_id
                .as_ref()
                .is_none_or(|id| assignment.facility_ids.contains(id))
            && self.status.is_none_or(|status| status == assignment.status_on(today))
            && after(completed_at, self.completed_after)
            && before(completed_at, self.completed_before)
            && self.due_before.is_none_or(|bound| assignment.due_date < bound)
            && before(expires_at, self.expires_before)
            && sorted_by_a_completion
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAssignment {
    pub user_id: UserId,
    pub training_module_id: TrainingModuleId,
    pub due_date: Date,
    pub notes: Option<String>,
    pub facility_ids: Vec<FacilityId>,
}

pub fn new_assignment(org: &OrgId, input: NewAssignment, created_by: &UserId, now: Timestamp) -> TrainingAssignment {
    let mut assignment = TrainingAssignment {
        id: TrainingAssignmentId::new(),
        organization_id: org.clone(),
        user_id: input.user_id,
        training_module_id: input.training_module_id,
        state: AssignmentState::Assigned,
        status: TrainingStatus::Assigned,
        due_date: input.due_date,
        notes: input.notes,
        facility_ids: input.facility_ids,
        created_by: created_by.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        renewal_of: None,
        requirement_id: None,
        marked_overdue_at: None,
    };
    assignment.status = assignment.status_on(now.date());
    assignment
}

/// The daily job's change to an open assignment whose due date passed before `now`'s
/// day: the stored status becomes `overdue`. `None`: nothing to change. The version
/// stays, so a completion or waiver read before this change still lands over it, and
/// this change, conditioned on the version, never lands over one.
pub fn mark_overdue(assignment: &TrainingAssignment, now: Timestamp) -> Option<TrainingAssignment> {
    if !assignment.awaits_overdue_mark() || assignment.due_date >= now.date() {
        return None;
    }
    let mut next = assignment.clone();
    next.status = TrainingStatus::Overdue;
    next.marked_overdue_at = Some(now);
    next.updated_at = now;
    Some(next)
}

/// What the daily job does with a completion nearing its expiry.
#[derive(Debug, PartialEq)]
pub enum Renewal {
    /// The next assignment, and the completed one with its link to it.
    /// The next assignment to create; the creation links the completed one to it
    /// (`linked_renewal`).
    Renew { next: NewAssignment },
    /// No renewal, and why; the completed one records the reason.
    Skip {
        reason: &'static str,
        renewed: Box<TrainingAssignment>,
    },
}

/// Why a completion needs no renewal of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// An open assignment of the module exists (made by hand).
    Open,
    /// A later completion or waiver of the module: that one is renewed in its turn.
    Superseded,
}

/// Whether anything stands in the way of renewing a completion.
pub struct RenewalContext<'a> {
    pub module: Option<&'a crate::model::training_modules::TrainingModule>,
    pub member_active: bool,
    /// Another assignment of the same module for the person that makes a renewal moot.
    pub follow_up: Option<FollowUp>,
    /// The completed assignment's facilities that can still be scoped (not deleted).
    pub facilities: Vec<FacilityId>,
}

/// CIP-004 R2 "at least once every 15 calendar months": the next assignment of the same
/// module, due when the completion expires, with the same facility scope. Made once: the
/// completed assignment records the renewal (or why there is none).
pub fn renewal(completed: &TrainingAssignment, context: RenewalContext<'_>) -> Option<Renewal> {
    if !completed.awaits_renewal() {
        return None;
    }
    let expires_at = completed.state.expires_at()?;
    let skip = |reason: &'static str| {
        Some(Renewal::Skip {
            reason,
            renewed: Box::new(with_renewal_mark(completed, RenewalMark::Skipped(reason.to_string()))),
        })
    };
    match context.module {
        None => return skip("module_missing"),
        Some(module) if !module.renews() => {
            return skip(
                if module.status != crate::model::training_modules::ModuleStatus::Active {
                    "module_retired"
                } else {
                    "renewal_disabled"
                },
            );
        }
        Some(_) => {}
    }
    if !context.member_active {
        return skip("member_not_active");
    }
    match context.follow_up {
        Some(FollowUp::Open) => return skip("already_assigned"),
        Some(FollowUp::Superseded) => return skip("superseded"),
        None => {}
    }
    Some(Renewal::Renew {
        next: NewAssignment {
            user_id: completed.user_id.clone(),
            training_module_id: completed.training_module_id.clone(),
            due_date: expires_at.date(),
            notes: Some(format!("Renewal of {} (CIP-004 R2)", completed.id)),
            facility_ids: context.facilities,
        },
    })
}

/// The completed assignment as its renewal's creation leaves it: linked to `renewal`.
pub fn linked_renewal(completed: &TrainingAssignment, renewal: &TrainingAssignment) -> TrainingAssignment {
    with_renewal_mark(completed, RenewalMark::RenewedBy(renewal.id.clone()))
}

/// The completion with the daily job's mark; the rest of the record does not change
/// (nor does an assignment without an expiring completion, which awaits no mark).
fn with_renewal_mark(completed: &TrainingAssignment, mark: RenewalMark) -> TrainingAssignment {
    let mut renewed = completed.clone();
    if let AssignmentState::Complete {
        completion: CompletionRecord {
            expiry: Some(expiry), ..
        },
        ..
    } = &mut renewed.state
    {
        expiry.renewal = mark;
    }
    renewed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse("t", text).unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse("d", text).unwrap()
    }

    fn assignment(due: &str) -> TrainingAssignment {
        new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: UserId::new(),
                training_module_id: TrainingModuleId::new(),
                due_date: date(due),
                notes: None,
                facility_ids: vec![],
            },
            &UserId::new(),
            at("2025-03-15T09:00:00Z"),
        )
    }

    #[test]
    fn an_open_assignment_past_its_due_date_reads_overdue_and_a_closed_one_never_does() {
        let open = assignment("2025-04-30");
        assert_eq!(open.status_on(date("2025-04-30")), TrainingStatus::Assigned);
        assert_eq!(open.status_on(date("2025-05-01")), TrainingStatus::Overdue);
        let started = start(&open, at("2025-04-01T00:00:00Z")).unwrap().unwrap();
        assert_eq!(started.status_on(date("2025-04-30")), TrainingStatus::InProgress);
        assert_eq!(started.status_on(date("2025-05-01")), TrainingStatus::Overdue);
        let now = at("2025-06-01T00:00:00Z");
        let completion = Completion::parse(None, None, None, now).unwrap();
        let done = complete(&started, completion, &UserId::new(), Some(365), now).unwrap();
        assert_eq!(done.status_on(date("2030-01-01")), TrainingStatus::Complete);
        assert_eq!(done.state.expires_at(), Some(at("2026-06-01T00:00:00Z")));
        let waived = waive(&open, "Contractor leaves before access", &UserId::new(), now).unwrap();
        assert_eq!(waived.status_on(date("2030-01-01")), TrainingStatus::Waived);
    }

    #[test]
    fn closed_assignments_refuse_every_transition() {
        let now = at("2025-04-10T14:15:00Z");
        let open = assignment("2025-04-30");
        let completion = || Completion::parse(None, None, None, now).unwrap();
        let done = complete(&open, completion(), &UserId::new(), None, now).unwrap();
        assert_eq!(done.state.expires_at(), None);
        let waived = waive(&open, "r", &UserId::new(), now).unwrap();
        for closed in [&done, &waived] {
            assert!(complete(closed, completion(), &UserId::new(), None, now).is_err());
            assert!(start(closed, now).is_err());
            assert!(waive(closed, "again", &UserId::new(), now).is_err());
        }
        // Starting twice is not a change.
        let started = start(&open, now).unwrap().unwrap();
        assert!(start(&started, now).unwrap().is_none());
        assert!(waive(&open, "   ", &UserId::new(), now).is_err());
    }

    #[test]
    fn nobody_waives_their_own_assignment_and_a_self_completion_says_so() {
        let now = at("2025-04-10T14:15:00Z");
        let open = assignment("2025-04-30");
        let refused = waive(&open, "I know this already", &open.user_id, now).unwrap_err();
        assert_eq!((refused.status(), refused.code()), (403, "forbidden"));
        assert!(refused.to_string().contains("someone else"), "{refused}");
        assert!(waive(&open, "Contractor leaves before access", &UserId::new(), now).is_ok());

        assert_eq!(open.self_reported(), None);
        let completion = || Completion::parse(None, None, None, now).unwrap();
        let by_self = complete(&open, completion(), &open.user_id, None, now).unwrap();
        assert_eq!(by_self.self_reported(), Some(true));
        let by_admin = complete(&open, completion(), &UserId::new(), None, now).unwrap();
        assert_eq!(by_admin.self_reported(), Some(false));
    }

    #[test]
    fn a_completion_is_never_in_the_future_and_scores_are_zero_to_a_hundred() {
        let now = at("2025-04-10T14:15:00Z");
        let completion =
            |completed_at: Option<&str>, score: Option<i64>| Completion::parse(completed_at, score, None, now);
        assert!(completion(Some("2025-04-10T14:15:01Z"), None).is_err());
        assert!(completion(Some("2025-04-10T14:15:00Z"), Some(100)).is_ok());
        for bad in [-1, 101, 1000] {
            assert!(completion(None, Some(bad)).is_err());
        }
        assert_eq!(completion(None, Some(0)).unwrap().completed_at, now);
    }

    #[test]
    fn queries_parse_sorts_and_refuse_contradictions() {
        let parse = |text: AssignmentQueryText| AssignmentQuery::parse(&text);
        let query = parse(AssignmentQueryText {
            sort: Some("-dueDate"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((query.sort, query.descending), (AssignmentSort::DueDate, true));
        let query = parse(AssignmentQueryText {
            completed_after: Some("2025-01-01T00:00:00Z"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(query.sort, AssignmentSort::CompletedAt);
        for bad in [
            AssignmentQueryText {
                sort: Some("title"),
                ..Default::default()
            },
            AssignmentQueryText {
                status: Some("done"),
                ..Default::default()
            },
            AssignmentQueryText {
                status: Some("assigned"),
                sort: Some("completedAt"),
                ..Default::default()
            },
            AssignmentQueryText {
                due_before: Some("2025-13-01"),
                ..Default::default()
            },
        ] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn a_reversed_completion_range_is_refused_naming_its_later_bound_and_an_empty_one_is_not() {
        let range = |after: &'static str, before: &'static str, sort: Option<&'static str>| {
            AssignmentQuery::parse(&AssignmentQueryText {
                completed_after: Some(after),
                completed_before: Some(before),
                sort,
                ..Default::default()
            })
        };
        for sort in [
            None,
            Some("completedAt"),
            Some("-completedAt"),
            Some("createdAt"),
            Some("dueDate"),
        ] {
            let refused = range("2025-02-01T00:00:00Z", "2025-01-01T00:00:00Z", sort).unwrap_err();
            assert!(
                matches!(&refused, ApiError::Validation { field, .. } if field == "completedBefore"),
                "{sort:?}: {refused:?}"
            );
            // Within one millisecond, still reversed.
            assert!(range("2025-01-01T00:00:00.0005Z", "2025-01-01T00:00:00.0001Z", sort).is_err());
            // Equal bounds select nothing (after is inclusive, before exclusive) but are in order.
            assert!(range("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", sort).is_ok());
        }
    }

    /// The flat item of a record in `state`, as JSON.
    fn stored_json(state: AssignmentState) -> serde_json::Value {
        let mut record = assignment("2025-04-30");
        record.state = state;
        serde_json::to_value(&record).unwrap()
    }

    fn read(item: serde_json::Value) -> Result<TrainingAssignment, serde_json::Error> {
        serde_json::from_value(item)
    }

    #[test]
    fn each_state_is_stored_in_the_flat_form_and_read_back() {
        let at1 = at("2025-04-01T08:00:00Z");
        let at2 = at("2025-04-02T08:00:00Z");
        let by = UserId::new();
        let completion = |renewal: Option<RenewalMark>| CompletionRecord {
            completed_at: at2,
            completed_by: by.clone(),
            score: Some(90),
            certificate_reference: Some("CERT-1".into()),
            source_statement_id: None,
            expiry: renewal.map(|renewal| Expiry {
                expires_at: at("2026-04-02T08:00:00Z"),
                renewal,
            }),
        };
        let renewal = TrainingAssignmentId::new();
        let states = [
            AssignmentState::Assigned,
            AssignmentState::InProgress { started_at: at1 },
            AssignmentState::Complete {
                started_at: None,
                completion: completion(None),
            },
            AssignmentState::Complete {
                started_at: Some(at1),
                completion: completion(Some(RenewalMark::Awaited)),
            },
            AssignmentState::Complete {
                started_at: Some(at1),
                completion: completion(Some(RenewalMark::RenewedBy(renewal.clone()))),
            },
            AssignmentState::Complete {
                started_at: Some(at1),
                completion: completion(Some(RenewalMark::Skipped("superseded".into()))),
            },
            AssignmentState::Waived {
                started_at: Some(at1),
                waiver: Waiver {
                    waived_at: at2,
                    waived_by: by.clone(),
                    reason: "Left before access".into(),
                },
            },
        ];
        for state in states {
            let item = stored_json(state.clone());
            assert_eq!(item["progress"], state.name());
            assert_eq!(read(item).unwrap().state, state);
        }
        // The flat form names every field, set or null, as before the state had a type.
        let item = stored_json(AssignmentState::Complete {
            started_at: None,
            completion: completion(Some(RenewalMark::RenewedBy(renewal.clone()))),
        });
        for (field, value) in [
            ("startedAt", serde_json::Value::Null),
            ("completedAt", serde_json::json!(at2)),
            ("completedBy", serde_json::json!(by)),
            ("score", serde_json::json!(90)),
            ("certificateReference", serde_json::json!("CERT-1")),
            ("expiresAt", serde_json::json!(at("2026-04-02T08:00:00Z"))),
            ("waivedAt", serde_json::Value::Null),
            ("waivedBy", serde_json::Value::Null),
            ("waiverReason", serde_json::Value::Null),
            ("renewedBy", serde_json::json!(renewal)),
            ("renewalSkipped", serde_json::Value::Null),
        ] {
            assert_eq!(item[field], value, "{field}");
        }
    }

    #[test]
    fn a_stored_item_that_no_state_explains_is_refused() {
        let complete = stored_json(AssignmentState::Complete {
            started_at: None,
            completion: CompletionRecord {
                completed_at: at("2025-04-02T08:00:00Z"),
                completed_by: UserId::new(),
                score: None,
                certificate_reference: None,
                source_statement_id: None,
                expiry: None,
            },
        });
        let waived = stored_json(AssignmentState::Waived {
            started_at: None,
            waiver: Waiver {
                waived_at: at("2025-04-02T08:00:00Z"),
                waived_by: UserId::new(),
                reason: "r".into(),
            },
        });
        let assigned = stored_json(AssignmentState::Assigned);
        let with = |base: &serde_json::Value, changes: &[(&str, serde_json::Value)]| {
            let mut item = base.clone();
            for (field, value) in changes {
                item[*field] = value.clone();
            }
            item
        };
        let when = serde_json::json!("2025-04-03T00:00:00.000Z");
        let someone = serde_json::json!(UserId::new());
        let null = serde_json::Value::Null;
        for (why, item) in [
            (
                "complete without its time",
                with(&complete, &[("completedAt", null.clone())]),
            ),
            (
                "complete without who recorded it",
                with(&complete, &[("completedBy", null.clone())]),
            ),
            ("complete with a waiver", with(&complete, &[("waivedAt", when.clone())])),
            (
                "renewed without an expiry",
                with(
                    &complete,
                    &[("renewedBy", serde_json::json!(TrainingAssignmentId::new()))],
                ),
            ),
            (
                "skipped without an expiry",
                with(&complete, &[("renewalSkipped", serde_json::json!("superseded"))]),
            ),
            (
                "renewed and skipped",
                with(
                    &complete,
                    &[
                        ("expiresAt", when.clone()),
                        ("renewedBy", serde_json::json!(TrainingAssignmentId::new())),
                        ("renewalSkipped", serde_json::json!("superseded")),
                    ],
                ),
            ),
            (
                "waived without a reason",
                with(&waived, &[("waiverReason", null.clone())]),
            ),
            (
                "waived without an approver",
                with(&waived, &[("waivedBy", null.clone())]),
            ),
            (
                "waived with a completion",
                with(&waived, &[("completedAt", when.clone())]),
            ),
            ("assigned but started", with(&assigned, &[("startedAt", when.clone())])),
            (
                "assigned with a completion",
                with(&assigned, &[("completedBy", someone.clone())]),
            ),
            (
                "in progress without its start",
                with(&assigned, &[("progress", serde_json::json!("in_progress"))]),
            ),
            (
                "in progress with a waiver",
                with(
                    &assigned,
                    &[
                        ("progress", serde_json::json!("in_progress")),
                        ("startedAt", when.clone()),
                        ("waiverReason", serde_json::json!("r")),
                    ],
                ),
            ),
        ] {
            assert!(read(item).is_err(), "{why} was read");
        }
        for valid in [complete, waived, assigned] {
            assert!(read(valid).is_ok());
        }
    }

    fn timestamps() -> impl proptest::strategy::Strategy<Value = Timestamp> {
        use proptest::strategy::Strategy;
        (0i64..=4_102_444_800_000).prop_map(Timestamp::from_millis)
    }

    fn states() -> impl proptest::strategy::Strategy<Value = AssignmentState> {
        use proptest::prelude::*;
        let renewal = prop_oneof![
            Just(RenewalMark::Awaited),
            Just(RenewalMark::RenewedBy(TrainingAssignmentId::new())),
            "\\PC{1,40}".prop_map(RenewalMark::Skipped),
        ];
        let expiry = proptest::option::of(
            (timestamps(), renewal).prop_map(|(expires_at, renewal)| Expiry { expires_at, renewal }),
        );
        let completion = (
            timestamps(),
            proptest::option::of(0u8..=100),
            proptest::option::of("\\PC{1,200}"),
            proptest::option::of("[0-9a-f-]{36}"),
            expiry,
        )
            .prop_map(
                |(completed_at, score, certificate_reference, source_statement_id, expiry)| CompletionRecord {
                    completed_at,
                    completed_by: UserId::new(),
                    score,
                    certificate_reference,
                    source_statement_id,
                    expiry,
                },
            );
        let waiver = (timestamps(), "\\PC{1,200}").prop_map(|(waived_at, reason)| Waiver {
            waived_at,
            waived_by: UserId::new(),
            reason,
        });
        prop_oneof![
            Just(AssignmentState::Assigned),
            timestamps().prop_map(|started_at| AssignmentState::InProgress { started_at }),
            (proptest::option::of(timestamps()), completion)
                .prop_map(|(started_at, completion)| AssignmentState::Complete { started_at, completion }),
            (proptest::option::of(timestamps()), waiver)
                .prop_map(|(started_at, waiver)| AssignmentState::Waived { started_at, waiver }),
        ]
    }

    proptest::proptest! {
        /// Every state a record can be in is stored as a DynamoDB item and read back equal.
        #[test]
        fn every_state_round_trips_through_a_dynamodb_item(state in states(), marked in proptest::option::of(timestamps())) {
            let mut record = assignment("2025-04-30");
            record.state = state;
            record.marked_overdue_at = marked;
            let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
                serde_dynamo::to_item(&record).unwrap();
            let back: TrainingAssignment = serde_dynamo::from_item(item).unwrap();
            proptest::prop_assert_eq!(back, record);
        }
    }

    #[test]
    fn facility_ids_are_deduplicated_in_order_and_bounded() {
        let a = FacilityId::new();
        let b = FacilityId::new();
        assert_eq!(
            facility_ids("f", vec![a.clone(), b.clone(), a.clone()]).unwrap(),
            vec![a, b]
        );
        let many: Vec<FacilityId> = (0..=MAX_FACILITIES_PER_ASSIGNMENT).map(|_| FacilityId::new()).collect();
        assert!(facility_ids("f", many).is_err());
    }
}
