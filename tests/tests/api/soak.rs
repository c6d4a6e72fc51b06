//! The soak test: the walk over every route, round after round, through the fault proxy
//! with about one call in ten faulted, then invariants over everything the rounds wrote.
//! It prints its figures. The suite runs one round; `scripts/soak` runs many
//! (`RAPTOR_SOAK_ROUNDS`), outside CI's time budget.

use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::{FaultProxy, TestApi, TestOrg, sent_emails};
use raptor_shared::store::keys;
use serde_json::Value;

use crate::round_trips::walk_every_route;

/// Every page of a list route.
async fn all_pages(api: &TestApi, org: &TestOrg, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path = match &cursor {
            Some(cursor) => format!("{path}{separator}limit=100&cursor={cursor}"),
            None => format!("{path}{separator}limit=100"),
        };
        let page = api.get(&page_path, &org.admin_key).await.expect(200);
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

async fn sorted_actions(api: &TestApi, org: &TestOrg) -> Vec<String> {
    let mut actions: Vec<String> = all_pages(api, org, "/audit-events")
        .await
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_string())
        .collect();
    actions.sort();
    actions
}

/// What is wrong with one organization's records after its round, if anything.
async fn violations(api: &TestApi, org: &TestOrg, expected_actions: &[String], emails: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    // Every change recorded by exactly one audit event: the clean round's trail.
    let actions = sorted_actions(api, org).await;
    if actions != expected_actions {
        wrong.push(format!("{}: audit trail differs from a clean round's", org.id));
    }
    // Every invitation's email state is what SES sent, and the day's count agrees.
    let mut counted = 0;
    for invitation in all_pages(api, org, "/invitations").await {
        let address = invitation["email"].as_str().unwrap().to_ascii_lowercase();
        let sent = emails.iter().filter(|to| **to == address).count() as u64;
        let claimed = if invitation["emailSent"] == true {
            invitation["sendCount"].as_u64().unwrap()
        } else {
            0
        };
        counted += claimed;
        if sent != claimed {
            wrong.push(format!(
                "{}: {address} was sent {sent} emails, the invitation says {claimed}",
                org.id
            ));
        }
    }
    let today = api.clock().today().to_string();
    let counter: Option<Value> = api
        .store()
        .get(keys::key(
            keys::org_partition(&org.id),
            keys::invitation_emails_sort_key(&today),
        ))
        .await
        .unwrap();
    let count = counter.and_then(|item| item["count"].as_u64()).unwrap_or(0);
    if count != counted {
        wrong.push(format!(
            "{}: the day's email count is {count}, the invitations say {counted}",
            org.id
        ));
    }
    // No assignment refers to a person, module or facility that does not exist.
    for assignment in all_pages(api, org, "/training-assignments").await {
        for path in [
            format!("/users/{}", assignment["userId"].as_str().unwrap()),
            format!("/training-modules/{}", assignment["trainingModuleId"].as_str().unwrap()),
        ] {
            if api.get(&path, &org.admin_key).await.status != 200 {
                wrong.push(format!(
                    "{}: assignment {} names {path}, which is missing",
                    org.id, assignment["id"]
                ));
            }
        }
        for facility in assignment["facilities"].as_array().unwrap() {
            let path = format!("/facilities/{}", facility["id"].as_str().unwrap());
            if api.get(&path, &org.admin_key).await.status != 200 {
                wrong.push(format!(
                    "{}: assignment {} names {path}, which is missing",
                    org.id, assignment["id"]
                ));
            }
        }
    }
    wrong
}

#[tokio::test]
async fn soak_every_route_through_one_fault_in_ten() {
    let rounds: usize = std::env::var("RAPTOR_SOAK_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let clean = api.new_organization().await;
    let requests_per_round = walk_every_route(&api, &clean).await.len();
    let expected_actions = sorted_actions(&api, &clean).await;
    proxy.forget_seen();

    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::TransactionConflict(None),
        Times::OneIn(10),
    );
    proxy.fault(
        Target::DynamoDb("TransactWriteItems"),
        Fault::LoseAnswer,
        Times::OneIn(9),
    );
    proxy.fault(Target::AnyDynamoDb, Fault::ThroughputExceeded, Times::OneIn(10));
    proxy.fault(Target::Ses("SendEmail"), Fault::SesThrottling, Times::OneIn(10));
    let mut orgs = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let org = api.new_organization().await;
        walk_every_route(&api, &org).await;
        orgs.push(org);
    }
    let calls = proxy.seen().len();
    let faults = proxy.faults_injected();
    proxy.heal();

    let emails: Vec<String> = sent_emails()
        .into_iter()
        .flat_map(|email| email.to)
        .map(|to| to.to_ascii_lowercase())
        .collect();
    let mut wrong = Vec::new();
    for org in &orgs {
        wrong.extend(violations(&api, org, &expected_actions, &emails).await);
    }
    println!(
        "soak: {rounds} rounds, {} requests, {calls} AWS calls, {faults} faults injected ({:.1} %), 0 answers of 503 (every request answered as a clean run), {} invariant violations",
        rounds * requests_per_round,
        100.0 * faults as f64 / calls.max(1) as f64,
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
