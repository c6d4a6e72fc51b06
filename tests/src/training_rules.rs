//! The training requirements' engine as Lambda runs it, driven from the emulator: the
//! table's stream records (read with the real DynamoDB Streams API) into
//! `functions/training-rules`, and its schedule's invocation.

use serde_json::{Value, json};

use crate::TestApi;

impl TestApi {
    /// The new stream records of one organization's audit events, as the engine's event
    /// source mapping would hand them over (none: no new records). Other tests'
    /// organizations are left out, so each test sees only its own work.
    pub async fn training_rules_event(&self, org: &str) -> Option<Value> {
        let mut event = self.new_stream_records().await?;
        let records = event["Records"].as_array_mut()?;
        records.retain(|record| record["dynamodb"]["NewImage"]["organizationId"]["S"] == org);
        (!records.is_empty()).then_some(event)
    }

    /// Invokes the engine with `event`; its report.
    pub async fn invoke_training_rules(&self, event: Value) -> Value {
        Box::pin(training_rules::handle(&self.app, event))
            .await
            .expect("the engine handles its event")
    }

    /// What Lambda runs after a change: the organization's new stream records into the
    /// engine. Its report, or `None` when there was nothing new.
    pub async fn run_training_rules(&self, org: &str) -> Option<Value> {
        let event = self.training_rules_event(org).await?;
        Some(self.invoke_training_rules(event).await)
    }

    /// The engine as the schedule invokes it, for one organization and at most
    /// `max_batches` backfill batches.
    pub async fn sweep_training_rules(&self, org: &str, max_batches: u64) -> Value {
        self.invoke_training_rules(json!({ "maxBatches": max_batches, "organizationId": org }))
            .await
    }
}
