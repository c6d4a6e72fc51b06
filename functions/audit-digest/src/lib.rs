//! The audit digest job: EventBridge Scheduler invokes it every hour (any payload); it signs
//! every organization's audit events stored since the last run into that organization's
//! chain of digests (`operations::audit_digests`), logs what it did and returns the same
//! report. A failure is an error to the runtime, so the invocation is retried; a run that
//! repeats one that landed changes nothing.

use lambda_runtime::{Error, LambdaEvent};
use raptor_shared::app::AuditApp;
use raptor_shared::operations::audit_digests::{self, DigestRunReport};
use serde_json::Value;

pub async fn handle(audit: &AuditApp, _event: LambdaEvent<Value>) -> Result<DigestRunReport, Error> {
    let store = &audit.app.store;
    let report = Box::pin(audit_digests::run(store, &audit.signer, store.clock().now())).await?;
    tracing::info!(
        coveredUntil = ?report.covered_until.map(|at| at.to_string()),
        digests = report.digests_written,
        events = report.events_digested,
        lateEvents = report.late_events,
        lostRaces = report.lost_races,
        "audit digest job done"
    );
    Ok(report)
}
