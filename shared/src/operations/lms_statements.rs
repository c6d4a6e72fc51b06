//! Statements an LMS sends (`POST /xapi/statements`): each is matched to a member, a
//! training module and the member's open assignment of it, then applied through the
//! training assignment commands (`complete_assignment`, `start_assignment`), so a
//! completion from an LMS is an ordinary completion. The statement is stored in the
//! command's own transaction: the change and the record of what caused it exist together
//! or not at all, and a statement sent again changes nothing (`docs/lms.md`).

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingModuleId, UserId};
use crate::model::lms_statements::{
    Effect, Learner, LmsReport, StatementId, StatementOutcome, StoredStatement, UnmatchedReason, same_statement,
};
use crate::model::principal::Principal;
use crate::model::training_assignments::{Completion, TrainingAssignment};
use crate::model::users::MemberStatus;
use crate::operations::training_assignments;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::transaction::hold_commit;
use crate::store::{self, Store, Transaction};

/// What the statement matched, as far as it got.
struct Matched {
    user: Option<UserId>,
    module: Option<TrainingModuleId>,
    assignment: Result<TrainingAssignment, UnmatchedReason>,
}

impl Matched {
    fn nothing(reason: UnmatchedReason) -> Self {
        Matched {
            user: None,
            module: None,
            assignment: Err(reason),
        }
    }
}

/// Records one statement and applies it. A statement already stored answers as it was
/// stored if the content is the same, and `409` if not (xAPI's rule for a reused id).
pub async fn record_statement(store: &Store, principal: &Principal, report: LmsReport) -> ApiResult<StoredStatement> {
    principal.require(Permission::TrainingWrite)?;
    let org = principal.org();
    let now = store.clock().now();
    report.check_timestamp("timestamp", now)?;
    if let Some(stored) = store::lms_statements::get(store, org, &report.id).await? {
        return already_stored(stored, &report);
    }

    let effect = report.effect();
    let matched = match effect {
        Effect::None => Matched::nothing(UnmatchedReason::NoOpenAssignment),
        _ => Box::pin(find_assignment(store, org, &report)).await?,
    };
    let mut record = StoredStatement {
        id: report.id.clone(),
        organization_id: org.clone(),
        statement: report.statement.to_string(),
        verb: report.verb.clone(),
        stored_at: now,
        stored_by: principal.user().clone(),
        api_key_id: principal.actor.api_key_id.clone(),
        outcome: StatementOutcome::Ignored,
        unmatched_reason: None,
        user_id: matched.user,
        training_module_id: matched.module,
        training_assignment_id: None,
    };
    let assignment = match (effect, matched.assignment) {
        (Effect::None, _) => None,
        (_, Err(reason)) => {
            record.outcome = StatementOutcome::Unmatched;
            record.unmatched_reason = Some(reason);
            None
        }
        (_, Ok(assignment)) => Some(assignment),
    };
    let Some(assignment) = assignment else {
        return store_alone(store, Transaction::new(), record, &report).await;
    };

    record.training_assignment_id = Some(assignment.id.clone());
    let command = async {
        match effect {
            Effect::Complete => {
                let completion = Completion {
                    completed_at: report.completed_at(now),
                    score: report.completion_score,
                    certificate_reference: None,
                    source_statement_id: Some(report.id.to_string()),
                };
                training_assignments::complete_assignment(store, principal, &assignment.id, completion)
                    .await
                    .map(|_| StatementOutcome::Completed)
            }
            Effect::Attempt => training_assignments::start_assignment(store, principal, &assignment.id)
                .await
                .map(|_| StatementOutcome::AttemptRecorded),
            Effect::Start | Effect::None => training_assignments::start_assignment(store, principal, &assignment.id)
                .await
                .map(|_| StatementOutcome::Started),
        }
    };
    let (applied, change) = hold_commit(Box::pin(command)).await;
    match applied {
        Ok(outcome) => {
            record.outcome = outcome;
            store_alone(store, change.unwrap_or_default(), record, &report).await
        }
        // Closed meanwhile (completed, waived or deleted by another request): kept as
        // matching no open assignment. Any other failure changed nothing and is answered.
        Err(ApiError::Conflict { .. }) => {
            record.outcome = StatementOutcome::Unmatched;
            record.unmatched_reason = Some(UnmatchedReason::NoOpenAssignment);
            record.training_assignment_id = None;
            store_alone(store, Transaction::new(), record, &report).await
        }
        Err(error) => Err(error),
    }
}

/// Sends `change` (the command's writes, or nothing) with the statement's record. A
/// concurrent request that stored the same id first wins; this one then answers as a
/// statement sent again.
async fn store_alone(
    store: &Store,
    mut change: Transaction,
    record: StoredStatement,
    report: &LmsReport,
) -> ApiResult<StoredStatement> {
    store::lms_statements::put_new(&mut change, &record)?;
    match change.send(store).await {
        Ok(()) => Ok(record),
        Err(ApiError::Conflict { .. }) => {
            match store::lms_statements::get(store, &record.organization_id, &record.id).await? {
                Some(stored) => already_stored(stored, report),
                None => Err(ApiError::conflict(
                    "the assignment changed while the statement was applied; send the statement again",
                )),
            }
        }
        Err(error) => Err(error),
    }
}

fn already_stored(stored: StoredStatement, report: &LmsReport) -> ApiResult<StoredStatement> {
    if same_statement(&stored.statement, &report.statement) {
        Ok(stored)
    } else {
        Err(ApiError::conflict(format!(
            "statement {} is already stored with other content; a statement id names one statement",
            report.id
        )))
    }
}

async fn find_assignment(store: &Store, org: &OrgId, report: &LmsReport) -> ApiResult<Matched> {
    let user = match find_member(store, org, &report.learner).await? {
        Ok(user) => user,
        Err(reason) => return Ok(Matched::nothing(reason)),
    };
    let Some(activity) = &report.activity_id else {
        return Ok(Matched {
            user: Some(user),
            module: None,
            assignment: Err(UnmatchedReason::NotAnActivity),
        });
    };
    let modules = store::training_modules::with_activity(store, org, activity).await?;
    let module = match modules.as_slice() {
        [] => Err(UnmatchedReason::UnknownActivity),
        [module] => Ok(module.id.clone()),
        _ => Err(UnmatchedReason::AmbiguousActivity),
    };
    let module = match module {
        Ok(module) => module,
        Err(reason) => {
            return Ok(Matched {
                user: Some(user),
                module: None,
                assignment: Err(reason),
            });
        }
    };
    // The open assignment due first, if the person has several of the module.
    let assignment = store::training_assignments::of_user(store, org, &user)
        .await?
        .into_iter()
        .filter(|assignment| assignment.training_module_id == module && assignment.state.is_open())
        .min_by(|a, b| (a.due_date, &a.id).cmp(&(b.due_date, &b.id)))
        .ok_or(UnmatchedReason::NoOpenAssignment);
    Ok(Matched {
        user: Some(user),
        module: Some(module),
        assignment,
    })
}

async fn find_member(store: &Store, org: &OrgId, learner: &Learner) -> ApiResult<Result<UserId, UnmatchedReason>> {
    match learner {
        Learner::Unidentifiable(_) => Ok(Err(UnmatchedReason::ActorNotIdentifiable)),
        Learner::Email(email) => {
            let Some(user) = store::members::user_with_email(store, org, email.as_str()).await? else {
                return Ok(Err(UnmatchedReason::UnknownActor));
            };
            Ok(match store::members::get(store, org, &user).await? {
                None => Err(UnmatchedReason::UnknownActor),
                Some(member) if member.status == MemberStatus::Deleted => Err(UnmatchedReason::ActorNotActive),
                Some(member) => Ok(member.user_id),
            })
        }
        Learner::Account { name, .. } => {
            let members = store::members::with_external_id(store, org, name).await?;
            let live: Vec<_> = members
                .iter()
                .filter(|member| member.status != MemberStatus::Deleted)
                .collect();
            Ok(match (live.as_slice(), members.is_empty()) {
                ([member], _) => Ok(member.user_id.clone()),
                ([], true) => Err(UnmatchedReason::UnknownActor),
                ([], false) => Err(UnmatchedReason::ActorNotActive),
                _ => Err(UnmatchedReason::AmbiguousActor),
            })
        }
    }
}

pub async fn get_statement(store: &Store, principal: &Principal, id: &StatementId) -> ApiResult<StoredStatement> {
    principal.require(Permission::TrainingRead)?;
    store::lms_statements::get(store, principal.org(), id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "statement",
            id: id.to_string(),
        })
}

/// The statements that matched no member, module or open assignment, oldest first.
pub async fn unmatched_statements(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<StoredStatement>> {
    principal.require(Permission::TrainingRead)?;
    let result = store::lms_statements::unmatched(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}
