//! The training requirements' engine as Lambda runs it, driven from the emulator: the
//! table's stream records (read with the real DynamoDB Streams API) into
//! `functions/training-rules`, and its schedule's invocation.

use raptor_shared::ids::UserId;
use raptor_shared::model::roles::{RoleRef, SystemRole};
use raptor_shared::model::users::{Member, MemberStatus};
use raptor_shared::store;
use raptor_shared::validation::{DisplayName, Email};
use serde_json::{Value, json};

use crate::{TestApi, TestOrg};

/// Members written per import (each is 2 items).
const MEMBERS_PER_IMPORT: usize = 500;

impl TestApi {
    /// `count` active viewers written straight to the table (`store::members::import_batch`:
    /// a bulk load, no audit event, so the engine hears of none of them, as of members from
    /// before requirements existed). Their ids, in the order written.
    pub async fn import_members(&self, org: &TestOrg, count: usize) -> Vec<UserId> {
        let now = self.clock().now();
        let mut ids = Vec::with_capacity(count);
        let mut batch = Vec::with_capacity(MEMBERS_PER_IMPORT);
        for n in 0..count {
            let user_id = UserId::new();
            batch.push(Member {
                user_id: user_id.clone(),
                organization_id: org.id.clone(),
                organization_name: org.name.clone(),
                email: Email::parse(
                    "email",
                    &format!("person{n}.{}@utility.example", &user_id.as_str()[4..]),
                )
                .expect("an email"),
                display_name: DisplayName::parse("displayName", &format!("Person {n}")).expect("a name"),
                title: None,
                external_id: None,
                roles: vec![RoleRef::System(SystemRole::Viewer)],
                status: MemberStatus::Active,
                facility_ids: Vec::new(),
                group_ids: Vec::new(),
                profile: Default::default(),
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            });
            ids.push(user_id);
            if batch.len() == MEMBERS_PER_IMPORT || n + 1 == count {
                store::members::import_batch(self.store(), &batch)
                    .await
                    .expect("import members");
                batch.clear();
            }
        }
        ids
    }

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
