//! The webhook dispatcher. Fed the table's stream, it turns each new audit event into one
//! delivery per endpoint that wants it and queues them; invoked by the schedule (every
//! minute, any other payload), it queues what is due: retries after their backoff,
//! resends, queued deliveries whose message was lost. A failure is an error to the
//! runtime, so Lambda retries the batch (a repeat queues nothing twice).

use lambda_runtime::Error;
use raptor_shared::app::WebhooksApp;
use raptor_shared::operations::webhooks;
use raptor_shared::webhook_events::DispatcherInput;
use serde_json::Value;

pub async fn handle(app: &WebhooksApp, event: Value) -> Result<Value, Error> {
    let store = &app.app.store;
    match DispatcherInput::of(event)? {
        DispatcherInput::NewEvents(events) => {
            let report = Box::pin(webhooks::dispatch(store, &app.queue, &events)).await?;
            tracing::info!(
                events = report.events,
                queued = report.deliveries_queued,
                leftForSweep = report.left_for_sweep,
                "webhook dispatch done"
            );
            Ok(serde_json::to_value(report)?)
        }
        DispatcherInput::Sweep => {
            let report = Box::pin(webhooks::sweep(store, &app.queue)).await?;
            tracing::info!(queued = report.deliveries_queued, "webhook sweep done");
            Ok(serde_json::to_value(report)?)
        }
    }
}
