//! The evidence package builder: EventBridge Scheduler invokes it every minute (any
//! payload); it builds the packages waiting in the queue (`operations::evidence_builder`),
//! logs what it did and returns the same report. A package's own failure is recorded on
//! the package; only a failure of the run itself (the queue unreadable) is an error to the
//! runtime.

use lambda_runtime::{Error, LambdaEvent};
use raptor_shared::app::AuditApp;
use raptor_shared::error::ApiError;
use raptor_shared::operations::evidence_builder::{self, BuildRunReport, Builder};
use serde_json::Value;

pub async fn handle(audit: &AuditApp, _event: LambdaEvent<Value>) -> Result<BuildRunReport, Error> {
    let bucket = audit
        .exports
        .as_ref()
        .ok_or_else(|| ApiError::internal("EXPORT_BUCKET is not set: evidence packages have nowhere to go"))?;
    let builder = Builder {
        store: &audit.app.store,
        signer: &audit.signer,
        bucket,
        renewal_window_days: audit.app.renewal_window_days,
    };
    let report = Box::pin(evidence_builder::run(&builder)).await?;
    tracing::info!(
        built = report.built.len(),
        failed = report.failed.len(),
        retried = report.retried.len(),
        lostRaces = report.lost_races,
        "evidence package builder done"
    );
    Ok(report)
}
