//! The training requirements' engine. Fed the table's stream, it goes through each person
//! a new audit event says was created, joined or changed, and goes on with the backfills
//! of requirements just declared or widened; invoked by the schedule (every minute, any
//! other payload), it goes on with every running backfill. A failure is an error to the
//! runtime, so Lambda retries the batch (a repeat makes nothing twice).

use std::time::{Duration, Instant};

use lambda_runtime::Error;
use raptor_shared::app::App;
use raptor_shared::ids::OrgId;
use raptor_shared::operations::training_requirements::{self, RunLimits};
use raptor_shared::webhook_events::DispatcherInput;
use serde_json::Value;

/// A run starts no batch after this (the function's timeout is 5 minutes).
const RUN_BUDGET: Duration = Duration::from_secs(240);

pub async fn handle(app: &App, event: Value) -> Result<Value, Error> {
    let store = &app.store;
    // `{"maxBatches": n, "organizationId": "org_…"}` bounds a run invoked by hand (an
    // operator, the tests, the benchmark) by batches and to one organization.
    let max_batches = event.get("maxBatches").and_then(Value::as_u64);
    let only = match event.get("organizationId").and_then(Value::as_str) {
        Some(id) => Some(OrgId::parse("organizationId", id)?),
        None => None,
    };
    let limits = RunLimits {
        deadline: Instant::now() + RUN_BUDGET,
        max_batches,
    };
    let report = match DispatcherInput::of(event)? {
        DispatcherInput::NewEvents(events) => {
            Box::pin(training_requirements::on_events(store, &events, limits)).await?
        }
        DispatcherInput::Sweep => Box::pin(training_requirements::run_backfills(store, only.as_ref(), limits)).await?,
    };
    tracing::info!(
        membersExamined = report.members_examined,
        assignmentsCreated = report.assignments_created,
        skipped = report.skipped,
        batches = report.backfill_batches,
        "training rules run done"
    );
    Ok(serde_json::to_value(report)?)
}
