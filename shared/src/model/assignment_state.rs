//! Where a training assignment is in its life, with the data that state needs: a complete
//! assignment cannot lack its completion time or who recorded it, a waived one its
//! approver and reason, and only a completion that expires can be renewed.
//!
//! The table stores the flat form seed 001 started with (`progress`, and each state's
//! fields beside it, unset where the state has none); `model::training_assignments`
//! converts between the two, refusing a flat item no state explains.

use crate::ids::{TrainingAssignmentId, UserId};
use crate::time::Timestamp;

/// An assignment's state. Time does not enter into it: `overdue` is read from the calendar
/// (`TrainingAssignment::status_on`).
#[derive(Debug, Clone, PartialEq)]
pub enum AssignmentState {
    Assigned,
    /// The trainee opened the course (an LMS reported it, or the person said so).
    InProgress {
        started_at: Timestamp,
    },
    /// CIP-004 R2 evidence; never changes again, but for the daily job's renewal mark.
    Complete {
        started_at: Option<Timestamp>,
        completion: CompletionRecord,
    },
    /// Someone else's formal judgement that the training is not needed.
    Waived {
        started_at: Option<Timestamp>,
        waiver: Waiver,
    },
}

/// A completion as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRecord {
    pub completed_at: Timestamp,
    /// The member whose key recorded it: the trainee themself when an LMS reports
    /// through the person's own integration (`self_reported`).
    pub completed_by: UserId,
    pub score: Option<u8>,
    pub certificate_reference: Option<String>,
    /// The xAPI statement an LMS reported this completion with (`POST /xapi/statements`).
    pub source_statement_id: Option<String>,
    /// `None`: the module sets no completion interval, so this completion never expires.
    pub expiry: Option<Expiry>,
}

/// When a completion stops counting, and what the daily job did about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expiry {
    /// `completedAt` + the module's `completionIntervalDays` at completion.
    pub expires_at: Timestamp,
    pub renewal: RenewalMark,
}

/// The daily job's mark on an expiring completion, written once.
#[derive(Debug, Clone, PartialEq)]
pub enum RenewalMark {
    /// Not yet renewed (the job's sparse index of completions by expiry holds these).
    Awaited,
    /// The job made this assignment to renew it.
    RenewedBy(TrainingAssignmentId),
    /// The job made no renewal, for this reason.
    Skipped(String),
}

/// A formal waiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    pub waived_at: Timestamp,
    pub waived_by: UserId,
    pub reason: String,
}

impl AssignmentState {
    pub fn is_open(&self) -> bool {
        matches!(self, AssignmentState::Assigned | AssignmentState::InProgress { .. })
    }

    /// The stored name of the state (`progress`).
    pub fn name(&self) -> &'static str {
        match self {
            AssignmentState::Assigned => "assigned",
            AssignmentState::InProgress { .. } => "in_progress",
            AssignmentState::Complete { .. } => "complete",
            AssignmentState::Waived { .. } => "waived",
        }
    }

    pub fn started_at(&self) -> Option<Timestamp> {
        match self {
            AssignmentState::Assigned => None,
            AssignmentState::InProgress { started_at } => Some(*started_at),
            AssignmentState::Complete { started_at, .. } | AssignmentState::Waived { started_at, .. } => *started_at,
        }
    }

    pub fn completion(&self) -> Option<&CompletionRecord> {
        match self {
            AssignmentState::Complete { completion, .. } => Some(completion),
            _ => None,
        }
    }

    pub fn waiver(&self) -> Option<&Waiver> {
        match self {
            AssignmentState::Waived { waiver, .. } => Some(waiver),
            _ => None,
        }
    }

    pub fn completed_at(&self) -> Option<Timestamp> {
        self.completion().map(|completion| completion.completed_at)
    }

    pub fn expires_at(&self) -> Option<Timestamp> {
        self.completion()?.expiry.as_ref().map(|expiry| expiry.expires_at)
    }

    pub fn renewal(&self) -> Option<&RenewalMark> {
        self.completion()?.expiry.as_ref().map(|expiry| &expiry.renewal)
    }

    /// When the assignment closed: its completion or its waiver.
    pub fn closed_at(&self) -> Option<Timestamp> {
        self.completed_at().or(self.waiver().map(|waiver| waiver.waived_at))
    }
}
