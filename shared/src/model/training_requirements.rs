//! Training requirements: who must take which module, declared once (CIP-004 R2: training
//! for the people with authorised access, before that access where R2.2 asks). The rule
//! engine (`operations::training_requirements`) makes the assignments they call for; this
//! file holds the rules it decides with, and a gap's verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, TrainingAssignmentId, TrainingModuleId, TrainingRequirementId, UserId};
use crate::model::roles::{RoleRef, RolesDocument};
use crate::model::training_assignments::TrainingAssignment;
use crate::model::training_status::{TrainingVerdict, covers, standings};
use crate::model::users::{Member, MemberStatus};
use crate::time::{Date, Timestamp};

/// Requirements an organization may declare; the engine reads them all for each person.
pub const MAX_REQUIREMENTS: usize = 100;
/// Roles or facilities one requirement may name.
pub const MAX_CRITERIA: usize = 30;
pub const MAX_DUE_WITHIN_DAYS: u32 = 365;

/// Who a requirement applies to: every active member, or those holding one of `roles`
/// and authorised for one of `facilityIds` (a list left empty does not narrow).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliesTo {
    #[serde(default)]
    pub everyone: bool,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<RoleRef>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub facility_ids: Vec<FacilityId>,
}

fn distinct<T: PartialEq + Clone>(field: &str, values: &[T]) -> ApiResult<Vec<T>> {
    let mut kept: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(value) {
            kept.push(value.clone());
        }
    }
    if kept.len() > MAX_CRITERIA {
        return Err(ApiError::validation(
            field,
            format!("at most {MAX_CRITERIA} distinct values"),
        ));
    }
    Ok(kept)
}

impl AppliesTo {
    /// `everyone` alone, or at least one role or facility; each list deduplicated in order.
    pub fn parse(everyone: bool, roles: &[RoleRef], facility_ids: &[FacilityId]) -> ApiResult<AppliesTo> {
        let roles = distinct("appliesTo.roles", roles)?;
        let facility_ids = distinct("appliesTo.facilityIds", facility_ids)?;
        match (everyone, roles.is_empty() && facility_ids.is_empty()) {
            (true, false) => Err(ApiError::validation(
                "appliesTo",
                "`everyone: true` applies to every member; leave `roles` and `facilityIds` empty",
            )),
            (false, true) => Err(ApiError::validation(
                "appliesTo",
                "name who the requirement applies to: `everyone: true`, `roles`, `facilityIds` or both lists",
            )),
            _ => Ok(AppliesTo {
                everyone,
                roles,
                facility_ids,
            }),
        }
    }

    /// Whether an active member is one of the people this applies to: by the roles they
    /// hold, their own or through their groups (`grants`, the organization's roles
    /// document, says which group grants which), and their facilities.
    pub fn matches(&self, member: &Member, grants: &RolesDocument) -> bool {
        if member.status != MemberStatus::Active {
            return false;
        }
        if self.everyone {
            return true;
        }
        let role_fits = self.roles.is_empty() || {
            let held = member.effective_roles(grants);
            self.roles.iter().any(|role| held.contains(role))
        };
        let facility_fits =
            self.facility_ids.is_empty() || self.facility_ids.iter().any(|id| member.facility_ids.contains(id));
        role_fits && facility_fits
    }

    /// Whether the requirement speaks for a facility: it names it, or names none.
    pub fn covers_facility(&self, facility: &FacilityId) -> bool {
        self.facility_ids.is_empty() || self.facility_ids.contains(facility)
    }

    /// The scope of the assignment it makes for `member`: the member's facilities it
    /// names, in the member's order; none (organization-wide) when it names no facility.
    pub fn scope_for(&self, member: &Member) -> Vec<FacilityId> {
        if self.facility_ids.is_empty() {
            return Vec::new();
        }
        member
            .facility_ids
            .iter()
            .filter(|id| self.facility_ids.contains(id))
            .cloned()
            .collect()
    }
}

/// A requirement as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRequirement {
    pub id: TrainingRequirementId,
    pub organization_id: OrgId,
    pub training_module_id: TrainingModuleId,
    pub applies_to: AppliesTo,
    /// A person it newly applies to is due this many days after the assignment is made.
    pub due_within_days: u32,
    /// CIP-004 R2.2: the training must be complete before authorised access is granted.
    pub before_access: bool,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// A new requirement's values, parsed (`rest::training_requirements`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequirement {
    pub training_module_id: TrainingModuleId,
    pub applies_to: AppliesTo,
    pub due_within_days: u32,
    pub before_access: bool,
}

/// What an update changes (absent: unchanged). The module is fixed: a requirement for
/// another module is another requirement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequirementEdit {
    pub applies_to: Option<AppliesTo>,
    pub due_within_days: Option<u32>,
    pub before_access: Option<bool>,
}

pub fn due_within_days(value: u32) -> ApiResult<u32> {
    if (1..=MAX_DUE_WITHIN_DAYS).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::validation(
            "dueWithinDays",
            format!("`dueWithinDays` must be from 1 to {MAX_DUE_WITHIN_DAYS}"),
        ))
    }
}

pub fn new_requirement(org: &OrgId, input: NewRequirement, by: &UserId, now: Timestamp) -> TrainingRequirement {
    TrainingRequirement {
        id: TrainingRequirementId::new(),
        organization_id: org.clone(),
        training_module_id: input.training_module_id,
        applies_to: input.applies_to,
        due_within_days: input.due_within_days,
        before_access: input.before_access,
        created_by: by.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The requirement after `edit`, or `None` when nothing changes.
pub fn edited(before: &TrainingRequirement, edit: RequirementEdit, now: Timestamp) -> Option<TrainingRequirement> {
    let mut after = before.clone();
    if let Some(applies_to) = edit.applies_to {
        after.applies_to = applies_to;
    }
    if let Some(days) = edit.due_within_days {
        after.due_within_days = days;
    }
    if let Some(before_access) = edit.before_access {
        after.before_access = before_access;
    }
    if &after == before {
        return None;
    }
    after.updated_at = now;
    after.version = before.version + 1;
    Some(after)
}

/// Whether the change may make the requirement apply to people it did not: then the
/// organization's members are gone through again (a narrowing finds nothing to add).
pub fn needs_backfill(before: &TrainingRequirement, after: &TrainingRequirement) -> bool {
    before.applies_to != after.applies_to
}

/// Members a backfill batch reads (one Query page of the organization's members).
pub const BACKFILL_BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackfillStatus {
    /// Members are still being gone through.
    Running,
    /// Every member was gone through.
    Done,
}

/// Going through an organization's members for one version of a requirement, a batch at
/// a time; a newer version (a widening) starts it again, deleting the requirement ends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backfill {
    pub organization_id: OrgId,
    pub requirement_id: TrainingRequirementId,
    pub requirement_version: u64,
    pub status: BackfillStatus,
    /// Where the next batch starts in the member list (`None`: at its beginning).
    pub after: Option<BTreeMap<String, String>>,
    pub batches: u64,
    pub members_examined: u64,
    pub assignments_created: u64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

pub fn start_backfill(requirement: &TrainingRequirement, now: Timestamp) -> Backfill {
    Backfill {
        organization_id: requirement.organization_id.clone(),
        requirement_id: requirement.id.clone(),
        requirement_version: requirement.version,
        status: BackfillStatus::Running,
        after: None,
        batches: 0,
        members_examined: 0,
        assignments_created: 0,
        started_at: now,
        finished_at: None,
    }
}

/// The places a requirement asks `member` to be trained for: each facility of its scope,
/// or the organization as a whole (`None`).
fn places(requirement: &TrainingRequirement, member: &Member) -> Vec<Option<FacilityId>> {
    let scope = requirement.applies_to.scope_for(member);
    if scope.is_empty() {
        vec![None]
    } else {
        scope.into_iter().map(Some).collect()
    }
}

/// What the engine does for one requirement and one person, given the person's
/// assignments (`TrainingRequirementId` aside, read from the index).
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// It does not apply to the person.
    NotApplicable,
    /// It applies, and an open assignment or a completion or waiver that counts today
    /// covers every place of its scope.
    Covered,
    /// Make an assignment, scoped to `facility_ids`. `made_before` are the assignments this
    /// requirement made for the person that the read saw (the marker must name one of them,
    /// or be absent, for the new one to be written: a retry never makes a second).
    Assign {
        facility_ids: Vec<FacilityId>,
        due_date: Date,
        made_before: Vec<TrainingAssignmentId>,
    },
}

/// The assignments of `module` among `assignments`.
fn of_module<'a>(
    assignments: &'a [TrainingAssignment],
    module: &'a TrainingModuleId,
) -> impl Iterator<Item = &'a TrainingAssignment> {
    assignments.iter().filter(move |a| &a.training_module_id == module)
}

pub fn decide(
    requirement: &TrainingRequirement,
    member: &Member,
    grants: &RolesDocument,
    assignments: &[TrainingAssignment],
    today: Date,
) -> Decision {
    if !requirement.applies_to.matches(member, grants) {
        return Decision::NotApplicable;
    }
    let module = &requirement.training_module_id;
    let of_module: Vec<TrainingAssignment> = of_module(assignments, module).cloned().collect();
    let covered = places(requirement, member).iter().all(|place| {
        let open = of_module.iter().any(|a| a.state.is_open() && covers(a, place.as_ref()));
        open || standings(&of_module, today, 0, place.as_ref())
            .first()
            .is_some_and(|s| {
                matches!(
                    s.verdict,
                    TrainingVerdict::Current | TrainingVerdict::Expiring | TrainingVerdict::Waived
                )
            })
    });
    if covered {
        return Decision::Covered;
    }
    let mut made_before: Vec<&TrainingAssignment> = of_module
        .iter()
        .filter(|a| a.requirement_id.as_ref() == Some(&requirement.id))
        .collect();
    made_before.sort_by_key(|a| std::cmp::Reverse(a.created_at));
    made_before.truncate(MAX_MARKER_CANDIDATES);
    Decision::Assign {
        facility_ids: requirement.applies_to.scope_for(member),
        due_date: today.plus_days(requirement.due_within_days).unwrap_or(today),
        made_before: made_before.into_iter().map(|a| a.id.clone()).collect(),
    }
}

/// The newest assignments a marker condition lists (DynamoDB's `IN` takes 100 values).
pub const MAX_MARKER_CANDIDATES: usize = 50;

/// Why a person is a gap for a requirement on a date.
#[derive(Debug, Clone, PartialEq)]
pub struct GapVerdict {
    /// `not_assigned`, `never_completed` or `expired`, as `training-status` says.
    pub verdict: TrainingVerdict,
    /// An assignment in scope, open on the date, was due before it.
    pub overdue: bool,
    pub due_date: Option<Date>,
}

/// The person's standing for the requirement's module on `as_of` at `facility` (or the
/// organization), the same verdict `training-status` gives; `None` when it counts
/// (`current`, `expiring`, `waived`).
pub fn gap_of(
    requirement: &TrainingRequirement,
    assignments: &[TrainingAssignment],
    as_of: Date,
    facility: Option<&FacilityId>,
) -> Option<GapVerdict> {
    let module = &requirement.training_module_id;
    let of_module: Vec<TrainingAssignment> = of_module(assignments, module).cloned().collect();
    let verdict = standings(&of_module, as_of, 0, facility)
        .first()
        .map_or(TrainingVerdict::NotAssigned, |s| s.verdict);
    if !verdict.is_gap() {
        return None;
    }
    let open_on_date = |a: &&TrainingAssignment| {
        covers(a, facility)
            && a.created_at.date() <= as_of
            && a.state.completed_at().is_none_or(|at| at.date() > as_of)
            && a.state.waiver().is_none_or(|w| w.waived_at.date() > as_of)
    };
    let due_date = of_module.iter().filter(open_on_date).map(|a| a.due_date).min();
    Some(GapVerdict {
        verdict,
        overdue: due_date.is_some_and(|due| due < as_of),
        due_date,
    })
}

/// The requirements that ask `member` for `module` at `facility` (or anywhere): what a
/// verdict of `training-status` answers to.
pub fn requiring<'a>(
    requirements: &'a [TrainingRequirement],
    member: &Member,
    grants: &RolesDocument,
    facility: Option<&FacilityId>,
) -> BTreeMap<&'a TrainingModuleId, Vec<&'a TrainingRequirement>> {
    let mut by_module: BTreeMap<&TrainingModuleId, Vec<&TrainingRequirement>> = BTreeMap::new();
    for requirement in requirements {
        let at_facility =
            facility.is_none_or(|f| member.facility_ids.contains(f) && requirement.applies_to.covers_facility(f));
        if requirement.applies_to.matches(member, grants) && at_facility {
            by_module
                .entry(&requirement.training_module_id)
                .or_default()
                .push(requirement);
        }
    }
    by_module
}

/// Requirements in the order gaps are listed: `beforeAccess` first, then by id (creation).
pub fn gap_order(requirements: &mut [TrainingRequirement]) {
    requirements.sort_by(|a, b| b.before_access.cmp(&a.before_access).then_with(|| a.id.cmp(&b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;
    use crate::model::roles::SystemRole;
    use crate::model::training_assignments::{Completion, NewAssignment, complete, new_assignment};
    use crate::validation::{DisplayName, Email};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse("t", text).unwrap()
    }

    fn member(roles: Vec<RoleRef>, facilities: Vec<FacilityId>) -> Member {
        Member {
            user_id: UserId::new(),
            organization_id: OrgId::new(),
            organization_name: "Org".into(),
            email: Email::parse("email", "a@example.com").unwrap(),
            display_name: DisplayName::parse("displayName", "A").unwrap(),
            title: None,
            external_id: None,
            roles,
            status: MemberStatus::Active,
            facility_ids: facilities,
            group_ids: Vec::new(),
            profile: Default::default(),
            created_at: at("2026-01-01T00:00:00Z"),
            updated_at: at("2026-01-01T00:00:00Z"),
            deleted_at: None,
            version: 1,
        }
    }

    fn requirement(applies_to: AppliesTo) -> TrainingRequirement {
        new_requirement(
            &OrgId::new(),
            NewRequirement {
                training_module_id: TrainingModuleId::new(),
                applies_to,
                due_within_days: 30,
                before_access: false,
            },
            &UserId::new(),
            at("2026-01-01T00:00:00Z"),
        )
    }

    fn assigned(requirement: &TrainingRequirement, person: &Member, created: &str) -> TrainingAssignment {
        let mut assignment = new_assignment(
            &person.organization_id,
            NewAssignment {
                user_id: person.user_id.clone(),
                training_module_id: requirement.training_module_id.clone(),
                due_date: at(created).date().plus_days(30).unwrap(),
                notes: None,
                facility_ids: requirement.applies_to.scope_for(person),
            },
            &UserId::new(),
            at(created),
        );
        assignment.requirement_id = Some(requirement.id.clone());
        assignment
    }

    fn completed(assignment: &TrainingAssignment, when: &str, interval: Option<u32>) -> TrainingAssignment {
        let completion = Completion::parse(Some(when), None, None, at(when)).unwrap();
        complete(assignment, completion, &UserId::new(), interval, at(when)).unwrap()
    }

    #[test]
    fn applies_to_needs_everyone_alone_or_a_criterion() {
        let role = RoleRef::System(SystemRole::Viewer);
        assert!(AppliesTo::parse(true, &[], &[]).is_ok());
        assert!(AppliesTo::parse(false, &[], &[]).is_err());
        assert!(AppliesTo::parse(true, std::slice::from_ref(&role), &[]).is_err());
        let parsed = AppliesTo::parse(false, &[role.clone(), role.clone()], &[]).unwrap();
        assert_eq!(parsed.roles, vec![role]);
        let many: Vec<FacilityId> = (0..=MAX_CRITERIA).map(|_| FacilityId::new()).collect();
        assert!(AppliesTo::parse(false, &[], &many).is_err());
    }

    #[test]
    fn roles_and_facilities_both_narrow_and_the_scope_is_their_intersection() {
        let (f1, f2, f3) = (FacilityId::new(), FacilityId::new(), FacilityId::new());
        let viewer = RoleRef::System(SystemRole::Viewer);
        let rule = AppliesTo::parse(false, std::slice::from_ref(&viewer), &[f1.clone(), f2.clone()]).unwrap();
        let no_groups = RolesDocument::default();
        let fits = member(vec![viewer.clone()], vec![f3.clone(), f2.clone(), f1.clone()]);
        assert!(rule.matches(&fits, &no_groups));
        assert_eq!(rule.scope_for(&fits), vec![f2.clone(), f1.clone()]);
        assert!(!rule.matches(&member(vec![viewer.clone()], vec![f3.clone()]), &no_groups));
        assert!(!rule.matches(
            &member(vec![RoleRef::System(SystemRole::Auditor)], vec![f1.clone()]),
            &no_groups
        ));
        let mut suspended = fits.clone();
        suspended.status = MemberStatus::Suspended;
        assert!(!rule.matches(&suspended, &no_groups));
        let everyone = AppliesTo::parse(true, &[], &[]).unwrap();
        assert!(everyone.matches(&member(vec![], vec![]), &no_groups));
        assert!(everyone.scope_for(&fits).is_empty());
    }

    #[test]
    fn a_role_held_through_a_group_counts_as_one_held_directly() {
        let (f1, group) = (FacilityId::new(), GroupId::new());
        let operator = RoleRef::System(SystemRole::Viewer);
        let rule = AppliesTo::parse(false, std::slice::from_ref(&operator), &[]).unwrap();
        let mut through_group = member(vec![], vec![f1]);
        through_group.group_ids = vec![group.clone()];
        let mut grants = RolesDocument::default();
        assert!(!rule.matches(&through_group, &grants), "the group grants nothing yet");
        grants.set_grants(&group, std::slice::from_ref(&operator));
        assert!(rule.matches(&through_group, &grants));
        // Another group's grant is not theirs.
        let mut elsewhere = RolesDocument::default();
        elsewhere.set_grants(&GroupId::new(), &[operator]);
        assert!(!rule.matches(&through_group, &elsewhere));
    }

    #[test]
    fn an_open_or_counting_assignment_covers_and_an_expired_one_does_not() {
        let rule = requirement(AppliesTo::parse(true, &[], &[]).unwrap());
        let person = member(vec![], vec![]);
        let today = Date::parse("d", "2026-06-01").unwrap();
        let Decision::Assign {
            due_date, made_before, ..
        } = decide(&rule, &person, &RolesDocument::default(), &[], today)
        else {
            panic!("a person with nothing is assigned");
        };
        assert_eq!(due_date, Date::parse("d", "2026-07-01").unwrap());
        assert!(made_before.is_empty());

        let open = assigned(&rule, &person, "2026-05-01T00:00:00Z");
        assert_eq!(
            decide(
                &rule,
                &person,
                &RolesDocument::default(),
                std::slice::from_ref(&open),
                today
            ),
            Decision::Covered
        );
        let done = completed(&open, "2026-05-02T00:00:00Z", Some(365));
        assert_eq!(
            decide(
                &rule,
                &person,
                &RolesDocument::default(),
                std::slice::from_ref(&done),
                today
            ),
            Decision::Covered
        );
        let later = Date::parse("d", "2027-05-03").unwrap();
        match decide(
            &rule,
            &person,
            &RolesDocument::default(),
            std::slice::from_ref(&done),
            later,
        ) {
            Decision::Assign { made_before, .. } => assert_eq!(made_before, vec![done.id.clone()]),
            other => panic!("an expired completion needs a new assignment, got {other:?}"),
        }
    }

    #[test]
    fn a_completion_at_one_facility_does_not_cover_another() {
        let (f1, f2) = (FacilityId::new(), FacilityId::new());
        let rule = requirement(AppliesTo::parse(false, &[], &[f1.clone(), f2.clone()]).unwrap());
        let person = member(vec![], vec![f1.clone()]);
        let mut at_f1 = assigned(&rule, &person, "2026-05-01T00:00:00Z");
        at_f1 = completed(&at_f1, "2026-05-02T00:00:00Z", None);
        let today = Date::parse("d", "2026-06-01").unwrap();
        assert_eq!(
            decide(
                &rule,
                &person,
                &RolesDocument::default(),
                std::slice::from_ref(&at_f1),
                today
            ),
            Decision::Covered
        );
        let moved = member(vec![], vec![f1.clone(), f2.clone()]);
        let mut moved_assignment = at_f1.clone();
        moved_assignment.user_id = moved.user_id.clone();
        match decide(&rule, &moved, &RolesDocument::default(), &[moved_assignment], today) {
            Decision::Assign { facility_ids, .. } => assert_eq!(facility_ids, vec![f1, f2]),
            other => panic!("a new facility needs training there, got {other:?}"),
        }
    }

    #[test]
    fn gaps_are_the_verdicts_that_do_not_count() {
        let rule = requirement(AppliesTo::parse(true, &[], &[]).unwrap());
        let person = member(vec![], vec![]);
        let day = |text| Date::parse("d", text).unwrap();
        assert_eq!(
            gap_of(&rule, &[], day("2026-06-01"), None).map(|g| g.verdict),
            Some(TrainingVerdict::NotAssigned)
        );
        let open = assigned(&rule, &person, "2026-05-01T00:00:00Z");
        let pending = gap_of(&rule, std::slice::from_ref(&open), day("2026-05-15"), None).unwrap();
        assert_eq!(
            (pending.verdict, pending.overdue),
            (TrainingVerdict::NeverCompleted, false)
        );
        let late = gap_of(&rule, std::slice::from_ref(&open), day("2026-06-15"), None).unwrap();
        assert!(late.overdue);
        let done = completed(&open, "2026-06-20T00:00:00Z", Some(365));
        assert!(gap_of(&rule, std::slice::from_ref(&done), day("2026-07-01"), None).is_none());
        let before = gap_of(&rule, std::slice::from_ref(&done), day("2026-06-19"), None).unwrap();
        assert!(before.overdue, "on a date before the completion, it was still overdue");
        assert_eq!(
            gap_of(&rule, std::slice::from_ref(&done), day("2027-06-21"), None).map(|g| g.verdict),
            Some(TrainingVerdict::Expired)
        );
    }

    #[test]
    fn before_access_requirements_come_first() {
        let mut list = vec![
            requirement(AppliesTo::parse(true, &[], &[]).unwrap()),
            requirement(AppliesTo::parse(true, &[], &[]).unwrap()),
        ];
        list[1].before_access = true;
        let first = list[1].id.clone();
        gap_order(&mut list);
        assert_eq!(list[0].id, first);
    }
}
