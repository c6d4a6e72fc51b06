//! The daily training job (`functions/overdue-marker`, an EventBridge schedule): across
//! every organization, it stores `overdue` on open assignments past due, and renews
//! completions nearing their expiry (CIP-004 R2: at least every 15 calendar months).
//!
//! It reads only what is due (GSI7, sparse: an assignment leaves it once handled), never
//! the table. Each change is one transaction with its audit event, by the system actor
//! (`UserId::system`), conditioned on the record the job read, so a completion or waiver
//! that lands meanwhile wins, and a second run, even a concurrent one, changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::ids::{OrgId, TrainingModuleId};
use crate::model::events::Event;
use crate::model::events::training_assignments::{MarkedOverdue, RenewalSkipped};
use crate::model::facilities::FacilityStatus;
use crate::model::principal::{Job, Principal};
use crate::model::training_assignments::{
    self as rules, FollowUp, Progress, Renewal, RenewalContext, TrainingAssignment,
};
use crate::model::training_modules::TrainingModule;
use crate::model::users::MemberStatus;
use crate::operations::training_assignments;
use crate::store::{self, Store, Transaction, keys};
use crate::time::Timestamp;

/// Rows read per page of the job's index.
const PAGE_SIZE: usize = 100;

/// What one run did, per organization (the function logs it and returns it).
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DailyReport {
    pub marked_overdue: BTreeMap<String, usize>,
    pub renewed: BTreeMap<String, usize>,
    /// Completions that got no renewal, per reason (`renewal_disabled`, …).
    pub renewal_skipped: BTreeMap<String, usize>,
    /// Changes not made because the record changed between the job's read and its write.
    pub lost_races: usize,
    /// `false`: the run stopped at its deadline; the next run carries on.
    pub finished: bool,
}

impl DailyReport {
    pub fn total_marked(&self) -> usize {
        self.marked_overdue.values().sum()
    }

    pub fn total_renewed(&self) -> usize {
        self.renewed.values().sum()
    }
}

pub struct ScheduleSettings {
    /// Renew a completion this many days before it expires.
    pub renewal_window_days: u32,
    /// Stop starting new pages after this instant (the Lambda's deadline, less a margin).
    pub deadline: Option<Instant>,
}

/// Walks the job's shards of GSI7, page after page.
#[derive(Default)]
struct ShardPages {
    shard: u8,
    after: Option<BTreeMap<String, String>>,
}

impl ShardPages {
    /// The next page to read: its shard and where it starts; `None` once all are read.
    fn position(&self) -> Option<(u8, Option<&BTreeMap<String, String>>)> {
        (self.shard < keys::SCHEDULE_SHARDS).then_some((self.shard, self.after.as_ref()))
    }

    fn advance(&mut self, next: Option<BTreeMap<String, String>>) {
        if next.is_none() {
            self.shard += 1;
        }
        self.after = next;
    }
}

impl ScheduleSettings {
    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// Runs both halves of the daily job at `now`.
pub async fn run_daily(store: &Store, now: Timestamp, settings: &ScheduleSettings) -> ApiResult<DailyReport> {
    let mut report = DailyReport::default();
    // Boxed: each half awaits many SDK futures, too deep a future to keep on the stack.
    let marked = Box::pin(mark_overdue(store, now, settings, &mut report)).await?;
    let renewed = Box::pin(renew_expiring(store, now, settings, &mut report)).await?;
    report.finished = marked && renewed;
    Ok(report)
}

/// A conditional write that lost to a change made meanwhile is not an error of the run.
fn lost_race(outcome: ApiResult<()>, report: &mut DailyReport) -> ApiResult<bool> {
    match outcome {
        Ok(()) => Ok(true),
        Err(ApiError::Conflict { .. }) => {
            report.lost_races += 1;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// Answers whether it went through every shard.
async fn mark_overdue(
    store: &Store,
    now: Timestamp,
    settings: &ScheduleSettings,
    report: &mut DailyReport,
) -> ApiResult<bool> {
    let mut pages = ShardPages::default();
    while let Some((shard, after)) = pages.position() {
        if settings.out_of_time() {
            return Ok(false);
        }
        let page = store::training_assignments::open_past_due(store, shard, now.date(), PAGE_SIZE, after).await?;
        for before in &page.items {
            let Some(marked) = rules::mark_overdue(before, now) else {
                continue;
            };
            let mut transaction = Transaction::new();
            store::training_assignments::put_scheduled_change(&mut transaction, before, &marked)?;
            let event = Event::AssignmentMarkedOverdue(MarkedOverdue {
                due_date: before.due_date,
                status_before: before.status,
            });
            let job = Principal::job(&before.organization_id, Job::DailyTraining);
            store::audit::record(
                &mut transaction,
                &job.actor,
                store.clock().now(),
                before.id.as_str(),
                &event,
            )?;
            if lost_race(transaction.commit(store).await, report)? {
                *report
                    .marked_overdue
                    .entry(before.organization_id.to_string())
                    .or_default() += 1;
            }
        }
        pages.advance(page.next);
    }
    Ok(true)
}

/// Answers whether it went through every shard.
async fn renew_expiring(
    store: &Store,
    now: Timestamp,
    settings: &ScheduleSettings,
    report: &mut DailyReport,
) -> ApiResult<bool> {
    let until = now.plus_days(settings.renewal_window_days);
    let mut modules: HashMap<(OrgId, TrainingModuleId), Option<TrainingModule>> = HashMap::new();
    let mut pages = ShardPages::default();
    while let Some((shard, after)) = pages.position() {
        if settings.out_of_time() {
            return Ok(false);
        }
        let page = store::training_assignments::awaiting_renewal(store, shard, until, PAGE_SIZE, after).await?;
        for completed in &page.items {
            let org = &completed.organization_id;
            let module_key = (org.clone(), completed.training_module_id.clone());
            if !modules.contains_key(&module_key) {
                let module = store::training_modules::get(store, org, &completed.training_module_id).await?;
                modules.insert(module_key.clone(), module);
            }
            let context = renewal_context(store, completed, modules[&module_key].as_ref()).await?;
            let Some(decision) = rules::renewal(completed, context) else {
                continue;
            };
            renew_one(store, completed, decision, report).await?;
        }
        pages.advance(page.next);
    }
    Ok(true)
}

async fn renewal_context<'a>(
    store: &Store,
    completed: &TrainingAssignment,
    module: Option<&'a TrainingModule>,
) -> ApiResult<RenewalContext<'a>> {
    let org = &completed.organization_id;
    let member = store::members::get(store, org, &completed.user_id).await?;
    // Someone already followed up: an open assignment of the module (assigned by hand),
    // or a later completion or waiver, which is the one to renew in its turn.
    let completed_at = completed.state.completed_at();
    let mut follow_up = None;
    for other in store::training_assignments::of_user(store, org, &completed.user_id).await? {
        if other.id == completed.id || other.training_module_id != completed.training_module_id {
            continue;
        }
        if other.state.is_open() {
            follow_up = Some(FollowUp::Open);
            break;
        }
        let closed_at = other.state.closed_at();
        if closed_at > completed_at {
            follow_up = Some(FollowUp::Superseded);
        }
    }
    let facilities = store::facilities::get_many(store, org, &completed.facility_ids)
        .await?
        .into_iter()
        .filter(|facility| facility.status != FacilityStatus::Deleted)
        .map(|facility| facility.id)
        .collect::<Vec<_>>();
    // Keep the completed assignment's scope order.
    let facilities = completed
        .facility_ids
        .iter()
        .filter(|id| facilities.contains(id))
        .cloned()
        .collect();
    Ok(RenewalContext {
        module,
        member_active: member.is_some_and(|member| member.status == MemberStatus::Active),
        follow_up,
        facilities,
    })
}

async fn renew_one(
    store: &Store,
    completed: &TrainingAssignment,
    decision: Renewal,
    report: &mut DailyReport,
) -> ApiResult<()> {
    let org = &completed.organization_id;
    let job = Principal::job(org, Job::DailyTraining);
    let mut transaction = Transaction::new();
    match decision {
        Renewal::Renew { next } => {
            // The one creation command, as the job: the renewal and the completion's link
            // to it commit together, or neither does.
            let created =
                training_assignments::create(store, &job, next, training_assignments::Origin::Renewal(completed)).await;
            if lost_race(created.map(|_| ()), report)? {
                *report.renewed.entry(org.to_string()).or_default() += 1;
            }
        }
        Renewal::Skip { reason, renewed } => {
            debug_assert_eq!(completed.progress(), Progress::Complete);
            store::training_assignments::put_scheduled_change(&mut transaction, completed, &renewed)?;
            let event = Event::AssignmentRenewalSkipped(RenewalSkipped {
                reason: reason.to_string(),
                expires_at: completed.state.expires_at(),
            });
            store::audit::record(
                &mut transaction,
                &job.actor,
                store.clock().now(),
                completed.id.as_str(),
                &event,
            )?;
            if lost_race(transaction.commit(store).await, report)? {
                *report.renewal_skipped.entry(reason.to_string()).or_default() += 1;
            }
        }
    }
    Ok(())
}
