//! The daily training job: EventBridge Scheduler invokes it once a day (any payload); it
//! marks overdue assignments and renews expiring completions across every organization
//! (`operations::training_schedule`), logs what it did per organization and returns the
//! same report. A failure is an error to the runtime, so the invocation is retried.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent};
use raptor_shared::app::App;
use raptor_shared::operations::training_schedule::{self, DailyReport, ScheduleSettings};
use serde_json::Value;

/// Time kept back from the invocation's deadline to finish the page in hand and report.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<DailyReport, Error> {
    let settings = ScheduleSettings {
        renewal_window_days: app.renewal_window_days,
        deadline: deadline(event.context.deadline),
    };
    // Boxed: the job's future is deep (each step awaits the SDK), too deep for the stack.
    let report = Box::pin(training_schedule::run_daily(
        &app.store,
        app.store.clock().now(),
        &settings,
    ))
    .await?;
    log(&report);
    Ok(report)
}

/// The runtime's deadline (epoch milliseconds) as an instant, less the margin.
fn deadline(deadline_epoch_millis: u64) -> Option<Instant> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let remaining = Duration::from_millis(deadline_epoch_millis).checked_sub(now)?;
    Some(Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN))
}

fn log(report: &DailyReport) {
    for (organization, marked) in &report.marked_overdue {
        tracing::info!(organizationId = %organization, marked, "marked training assignments overdue");
    }
    for (organization, renewed) in &report.renewed {
        tracing::info!(organizationId = %organization, renewed, "created renewal assignments");
    }
    for (reason, skipped) in &report.renewal_skipped {
        tracing::info!(reason = %reason, skipped, "completions not renewed");
    }
    tracing::info!(
        marked = report.total_marked(),
        renewed = report.total_renewed(),
        lostRaces = report.lost_races,
        finished = report.finished,
        "daily training job done"
    );
}
