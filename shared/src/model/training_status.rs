//! One person's CIP-004 standing, module by module, on a date: what an access-management
//! workflow asks before granting access (R2.2: training before access), and what an
//! auditor asks about a past date. Computed from the person's assignments alone.

use serde::Serialize;

use crate::ids::{FacilityId, TrainingAssignmentId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::training_assignments::TrainingAssignment;
use crate::time::{Date, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingVerdict {
    /// A completion that counts on the date, expiring after the window.
    Current,
    /// A completion that counts on the date and expires within the window.
    Expiring,
    /// Completed before, but no completion counts on the date.
    Expired,
    /// Assigned, never completed by the date.
    NeverCompleted,
    /// No completion counts, and the latest closing record by the date is a waiver.
    Waived,
    /// A training requirement asks for the module, and nothing was assigned by the date.
    NotAssigned,
}

impl TrainingVerdict {
    /// Whether the person lacks the training on the date: a requirement's gap.
    pub fn is_gap(self) -> bool {
        matches!(
            self,
            TrainingVerdict::Expired | TrainingVerdict::NeverCompleted | TrainingVerdict::NotAssigned
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletionSummary {
    pub training_assignment_id: TrainingAssignmentId,
    pub completed_at: Timestamp,
    /// Absent: the completion never expires.
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaiverSummary {
    pub training_assignment_id: TrainingAssignmentId,
    pub waived_at: Timestamp,
    pub waived_by: Option<UserId>,
    pub waiver_reason: Option<String>,
}

/// The standing per module, before the module's title is looked up, in the order the
/// modules were first assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub training_module_id: TrainingModuleId,
    pub verdict: TrainingVerdict,
    pub latest_completion: Option<CompletionSummary>,
    pub waiver: Option<WaiverSummary>,
}

/// A person's standing on a date, module by module, with each module's title now (a
/// retired module keeps its title).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonStanding {
    pub user_id: UserId,
    pub as_of: Date,
    /// Only assignments scoped to this facility, or to none (organization-wide), count.
    pub facility_id: Option<FacilityId>,
    /// A completion expiring within this many days of `as_of` reads `expiring`.
    pub window_days: u32,
    pub modules: Vec<TitledStanding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TitledStanding {
    pub standing: Standing,
    pub title: String,
    pub cip_standard: Option<String>,
    /// The training requirements that ask the person for this module (at the facility).
    pub requirement_ids: Vec<TrainingRequirementId>,
}

/// Whether an assignment speaks for `facility`: scoped to it, or to no facility at all.
pub fn covers(assignment: &TrainingAssignment, facility: Option<&FacilityId>) -> bool {
    match facility {
        None => true,
        Some(facility) => assignment.facility_ids.is_empty() || assignment.facility_ids.contains(facility),
    }
}

/// A completion counts on `as_of` from the day it was recorded until the day before it
/// expires; it is `expiring` once its expiry is `window_days` away or nearer.
pub fn standings(
    assignments: &[TrainingAssignment],
    as_of: Date,
    window_days: u32,
    facility: Option<&FacilityId>,
) -> Vec<Standing> {
    let on_or_before = |at: Option<Timestamp>| at.is_some_and(|at| at.date() <= as_of);
    let mut modules: Vec<&TrainingModuleId> = Vec::new();
    for assignment in assignments.iter().filter(|a| covers(a, facility)) {
        let known = assignment.created_at.date() <= as_of || on_or_before(assignment.state.completed_at());
        if known && !modules.contains(&&assignment.training_module_id) {
            modules.push(&assignment.training_module_id);
        }
    }
    let horizon = as_of.plus_days(window_days);
    modules
        .into_iter()
        .map(|module| {
            let of_module = || {
                assignments
                    .iter()
                    .filter(move |a| &a.training_module_id == module && covers(a, facility))
            };
            let completion = of_module()
                .filter_map(|a| Some((a, a.state.completion()?)))
                .filter(|(_, c)| on_or_before(Some(c.completed_at)))
                .max_by_key(|(_, c)| c.completed_at);
            let waiver = of_module()
                .filter_map(|a| Some((a, a.state.waiver()?)))
                .filter(|(_, w)| on_or_before(Some(w.waived_at)))
                .max_by_key(|(_, w)| w.waived_at);
            let expires_at = |(a, _): (&TrainingAssignment, _)| a.state.expires_at();
            let counts = completion.is_some_and(|c| expires_at(c).is_none_or(|expires| as_of < expires.date()));
            let waived_since =
                waiver.is_some_and(|(_, w)| completion.is_none_or(|(_, c)| w.waived_at > c.completed_at));
            let verdict = match (completion, counts) {
                (Some(c), true) => match (expires_at(c), horizon) {
                    (Some(expires), Some(horizon)) if expires.date() <= horizon => TrainingVerdict::Expiring,
                    _ => TrainingVerdict::Current,
                },
                _ if waived_since => TrainingVerdict::Waived,
                (Some(_), false) => TrainingVerdict::Expired,
                (None, _) => TrainingVerdict::NeverCompleted,
            };
            Standing {
                training_module_id: module.clone(),
                verdict,
                latest_completion: completion.map(|(a, c)| CompletionSummary {
                    training_assignment_id: a.id.clone(),
                    completed_at: c.completed_at,
                    expires_at: a.state.expires_at(),
                }),
                waiver: waiver
                    .filter(|_| verdict == TrainingVerdict::Waived)
                    .map(|(a, w)| WaiverSummary {
                        training_assignment_id: a.id.clone(),
                        waived_at: w.waived_at,
                        waived_by: Some(w.waived_by.clone()),
                        waiver_reason: Some(w.reason.clone()),
                    }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;
    use crate::model::training_assignments::{Completion, NewAssignment, complete, new_assignment, waive};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse("t", text).unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse("d", text).unwrap()
    }

    fn assigned(module: &TrainingModuleId, created: &str, facilities: Vec<FacilityId>) -> TrainingAssignment {
        new_assignment(
            &OrgId::new(),
            NewAssignment {
                user_id: UserId::new(),
                training_module_id: module.clone(),
                due_date: at(created).plus_days(30).date(),
                notes: None,
                facility_ids: facilities,
            },
            &UserId::new(),
            at(created),
        )
    }

    fn completed(assignment: &TrainingAssignment, when: &str, interval: Option<u32>) -> TrainingAssignment {
        let now = at("2026-12-01T00:00:00Z");
        let completion = Completion::parse(Some(when), None, None, now).unwrap();
        complete(assignment, completion, &UserId::new(), interval, now).unwrap()
    }

    fn verdict_on(assignments: &[TrainingAssignment], day: &str) -> Vec<TrainingVerdict> {
        standings(assignments, date(day), 30, None)
            .into_iter()
            .map(|s| s.verdict)
            .collect()
    }

    #[test]
    fn verdicts_before_between_and_after_two_completions() {
        let module = TrainingModuleId::new();
        let first = completed(
            &assigned(&module, "2024-01-02T00:00:00Z", vec![]),
            "2024-01-10T12:00:00Z",
            Some(365),
        );
        let second = completed(
            &assigned(&module, "2024-12-01T00:00:00Z", vec![]),
            "2025-03-01T08:00:00Z",
            Some(365),
        );
        let history = [first.clone(), second.clone()];
        use TrainingVerdict::*;
        assert_eq!(verdict_on(&history, "2024-01-01"), Vec::<TrainingVerdict>::new());
        assert_eq!(verdict_on(&history, "2024-01-05"), vec![NeverCompleted]);
        assert_eq!(verdict_on(&history, "2024-01-10"), vec![Current]);
        assert_eq!(verdict_on(&history, "2024-12-10"), vec![Expiring]);
        // The first expired on 2025-01-09; the second was not yet done.
        assert_eq!(verdict_on(&history, "2025-01-09"), vec![Expired]);
        assert_eq!(verdict_on(&history, "2025-03-01"), vec![Current]);
        let standing = &standings(&history, date("2025-03-01"), 30, None)[0];
        assert_eq!(
            standing.latest_completion.as_ref().map(|c| &c.training_assignment_id),
            Some(&second.id)
        );
        assert_eq!(verdict_on(&history, "2026-03-01"), vec![Expired]);
    }

    #[test]
    fn a_waiver_decides_only_where_no_completion_counts_and_facilities_narrow() {
        let module = TrainingModuleId::new();
        let alpha = FacilityId::new();
        let beta = FacilityId::new();
        let now = at("2025-02-01T00:00:00Z");
        let waived = waive(
            &assigned(&module, "2025-01-01T00:00:00Z", vec![alpha.clone()]),
            "contractor",
            &UserId::new(),
            now,
        )
        .unwrap();
        use TrainingVerdict::*;
        assert_eq!(
            verdict_on(std::slice::from_ref(&waived), "2025-01-15"),
            vec![NeverCompleted]
        );
        assert_eq!(verdict_on(std::slice::from_ref(&waived), "2025-02-01"), vec![Waived]);
        let done = completed(
            &assigned(&module, "2025-03-01T00:00:00Z", vec![]),
            "2025-03-02T00:00:00Z",
            None,
        );
        let both = [waived.clone(), done];
        assert_eq!(verdict_on(&both, "2025-03-02"), vec![Current]);
        // For Beta, the waiver (scoped to Alpha) does not speak; the unscoped completion does.
        assert!(standings(&both, date("2025-02-15"), 30, Some(&beta)).is_empty());
        let for_beta = standings(&both, date("2025-03-02"), 30, Some(&beta));
        assert_eq!(for_beta[0].verdict, Current);
        assert_eq!(
            standings(&both, date("2025-02-15"), 30, Some(&alpha))[0].verdict,
            Waived
        );
    }
}
