//! The daily training job (functions/overdue-marker): it marks exactly the open
//! assignments past due, leaves closed ones alone, never lands over a completion, renews
//! expiring completions once, and does nothing the second time.

use integration_tests::fault_proxy::{Fault, Target, Times};
use integration_tests::{FaultProxy, TestApi};
use raptor_shared::ids::{OrgId, TrainingAssignmentId, UserId};
use raptor_shared::model::assignment_state::RenewalMark;
use raptor_shared::model::training_assignments::{TrainingAssignment, TrainingStatus};
use raptor_shared::operations::training_schedule::{DailyReport, ScheduleSettings, run_daily};
use raptor_shared::store::{self, Transaction};
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

use crate::training_program::{Program, assign, due_in, id_of, program};

async fn run(api: &TestApi, now: Timestamp) -> DailyReport {
    let settings = ScheduleSettings {
        renewal_window_days: 30,
        deadline: None,
    };
    Box::pin(run_daily(api.store(), now, &settings))
        .await
        .expect("the daily job runs")
}

async fn stored(api: &TestApi, org: &OrgId, id: &str) -> TrainingAssignment {
    let id = TrainingAssignmentId::parse("id", id).unwrap();
    store::training_assignments::get(api.store(), org, &id)
        .await
        .unwrap()
        .expect("the assignment is stored")
}

fn in_days(days: u32) -> Timestamp {
    Timestamp::now().plus_days(days)
}

/// A new module (`module` is its body) and an assignment of it to the program's person,
/// due today: the assignment's id.
async fn assign_in_new_module(api: &TestApi, p: &Program, module: Value) -> String {
    let module = api
        .post("/training-modules", &p.org.admin_key, module)
        .await
        .expect(201);
    let assignment = api
        .post(
            "/training-assignments",
            &p.org.admin_key,
            json!({ "userId": p.user, "trainingModuleId": id_of(&module), "dueDate": due_in(0) }),
        )
        .await
        .expect(201);
    id_of(&assignment)
}

async fn complete(api: &TestApi, p: &Program, id: &str, completed_at: Timestamp) -> Value {
    api.post(
        &format!("/training-assignments/{id}/complete"),
        &p.org.admin_key,
        json!({ "completedAt": completed_at.to_string(), "score": 90 }),
    )
    .await
    .expect(200)
}

#[tokio::test]
async fn the_job_marks_exactly_the_open_assignments_past_due_in_every_organization_once() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let other = program(&api).await;
    let key = &p.org.admin_key;
    let due_soon = id_of(&assign(&api, &p, &due_in(1)).await);
    let due_later = id_of(&assign(&api, &p, &due_in(5)).await);
    let not_yet_due = id_of(&assign(&api, &p, &due_in(20)).await);
    let started = id_of(&assign(&api, &p, &due_in(2)).await);
    api.post(&format!("/training-assignments/{started}/start"), key, json!({}))
        .await
        .expect(200);
    let completed = id_of(&assign(&api, &p, &due_in(1)).await);
    complete(&api, &p, &completed, Timestamp::now()).await;
    let waived = id_of(&assign(&api, &p, &due_in(1)).await);
    api.post(
        &format!("/training-assignments/{waived}/waive"),
        key,
        json!({ "reason": "Left before access was granted" }),
    )
    .await
    .expect(200);
    let elsewhere = id_of(&assign(&api, &other, &due_in(3)).await);
    let closed_before = [
        stored(&api, &p.org.id, &completed).await,
        stored(&api, &p.org.id, &waived).await,
    ];

    let now = in_days(10);
    let report = run(&api, now).await;
    assert_eq!(report.marked_overdue.get(p.org.id.as_str()), Some(&3), "{report:?}");
    assert_eq!(report.marked_overdue.get(other.org.id.as_str()), Some(&1), "{report:?}");
    assert!(report.finished);
    for id in [&due_soon, &due_later, &started] {
        let record = stored(&api, &p.org.id, id).await;
        assert_eq!(record.status, TrainingStatus::Overdue, "{id}");
        assert_eq!(record.marked_overdue_at, Some(now));
        // The job keeps the version: a completion read before it still lands.
        assert_eq!(record.version, if id == &started { 2 } else { 1 });
        let trail = api.audit_trail_of(&p.org, id).await;
        let marked = trail
            .iter()
            .find(|event| event["action"] == "training_assignment.marked_overdue")
            .expect("an audit event of the marking");
        assert_eq!(marked["actorId"], UserId::system().as_str());
        assert_eq!(marked["actorApiKeyId"], Value::Null);
    }
    assert_eq!(
        stored(&api, &p.org.id, &not_yet_due).await.status,
        TrainingStatus::Assigned
    );
    assert_eq!(
        stored(&api, &other.org.id, &elsewhere).await.status,
        TrainingStatus::Overdue
    );
    // Closed records are not touched, not even their update time.
    assert_eq!(stored(&api, &p.org.id, &completed).await, closed_before[0]);
    assert_eq!(stored(&api, &p.org.id, &waived).await, closed_before[1]);
    // The system actor's changes are listed by actor.
    let by_system = api
        .get(&format!("/audit-events?actorId={}", UserId::system()), key)
        .await
        .expect(200);
    assert_eq!(by_system["data"].as_array().unwrap().len(), 3);

    // A second run marks nothing, and reads only the job's index: one Query per shard
    // and half, whatever else the table holds.
    api.dynamo_calls.reset();
    let again = run(&api, now).await;
    assert_eq!((again.total_marked(), again.total_renewed()), (0, 0), "{again:?}");
    assert_eq!(api.dynamo_calls.count(), 2 * 8);
}

#[tokio::test]
async fn a_completion_racing_the_job_is_never_overwritten_and_one_after_it_still_lands() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    // The job read this assignment, then the LMS completed it before the job wrote.
    let raced = id_of(&assign(&api, &p, &due_in(1)).await);
    let read_by_the_job = stored(&api, &p.org.id, &raced).await;
    complete(&api, &p, &raced, Timestamp::now()).await;
    let marked =
        raptor_shared::model::training_assignments::mark_overdue(&read_by_the_job, in_days(10)).expect("past due");
    let mut transaction = Transaction::new();
    store::training_assignments::put_scheduled_change(&mut transaction, &read_by_the_job, &marked).unwrap();
    let outcome = transaction.commit(api.store()).await;
    assert!(
        matches!(outcome, Err(raptor_shared::error::ApiError::Conflict { .. })),
        "{outcome:?}"
    );
    let record = stored(&api, &p.org.id, &raced).await;
    assert_eq!(record.status, TrainingStatus::Complete);
    assert!(record.state.completed_at().is_some());

    // The other order: the job marks first, and a completion afterwards is not refused.
    let marked_first = id_of(&assign(&api, &p, &due_in(1)).await);
    assert_eq!(run(&api, in_days(10)).await.total_marked(), 1);
    let done = complete(&api, &p, &marked_first, Timestamp::now()).await;
    assert_eq!(done["status"], "complete");
    assert_eq!(
        stored(&api, &p.org.id, &marked_first).await.status,
        TrainingStatus::Complete
    );
    assert_eq!(run(&api, in_days(10)).await.total_marked(), 0);
}

#[tokio::test]
async fn an_expiring_completion_is_renewed_once_with_its_scope_and_due_at_its_expiry() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    // Completed 350 days ago on a 365-day module: it expires in 15 days, inside the window.
    let expiring = api
        .post(
            "/training-assignments",
            key,
            json!({
                "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(0),
                "facilityIds": [p.alpha, p.beta],
            }),
        )
        .await
        .expect(201);
    let expiring = id_of(&expiring);
    let completed_at = Timestamp::now().minus_days(350);
    let done = complete(&api, &p, &expiring, completed_at).await;
    let expires_at = done["expiresAt"].as_str().unwrap().to_string();
    // A completion far from expiry (of another module) is left for a later run.
    let physical = json!({ "title": "Physical security", "completionIntervalDays": 365 });
    let fresh = assign_in_new_module(&api, &p, physical).await;
    complete(&api, &p, &fresh, Timestamp::now()).await;
    // Facility Beta is deleted after the completion: the renewal is scoped to Alpha only.
    api.delete(&format!("/facilities/{}", p.beta), key).await.expect(200);

    let report = run(&api, Timestamp::now()).await;
    assert_eq!(report.renewed.get(p.org.id.as_str()), Some(&1), "{report:?}");
    let original = api
        .get(&format!("/training-assignments/{expiring}"), key)
        .await
        .expect(200);
    let renewal_id = original["renewedBy"]
        .as_str()
        .expect("the completion names its renewal")
        .to_string();
    let renewal = api
        .get(&format!("/training-assignments/{renewal_id}"), key)
        .await
        .expect(200);
    assert_eq!(renewal["renewalOf"], expiring.as_str());
    assert_eq!(renewal["status"], "assigned");
    assert_eq!(renewal["userId"], p.user.as_str());
    assert_eq!(renewal["trainingModuleId"], p.module.as_str());
    assert_eq!(renewal["dueDate"], &expires_at[..10]);
    assert_eq!(
        renewal["facilities"],
        json!([{ "id": p.alpha, "name": "Substation Alpha" }])
    );
    // The completion record itself did not change.
    assert_eq!(original["completedAt"], done["completedAt"]);
    assert_eq!(original["expiresAt"], done["expiresAt"]);
    assert_eq!(original["updatedAt"], done["updatedAt"]);
    let created = api.audit_trail_of(&p.org, &renewal_id).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["action"], "training_assignment.created");
    assert_eq!(created[0]["actorId"], UserId::system().as_str());
    assert_eq!(created[0]["summary"]["renewalOf"], expiring.as_str());

    // Once: the next runs create nothing, and the person has exactly one open renewal.
    assert_eq!(run(&api, Timestamp::now()).await.total_renewed(), 0);
    assert_eq!(run(&api, in_days(3)).await.total_renewed(), 0);
    let open = api
        .get(&format!("/training-assignments?userId={}&status=assigned", p.user), key)
        .await
        .expect(200);
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
    assert_eq!(open["data"][0]["id"], renewal_id.as_str());
}

#[tokio::test]
async fn no_renewal_where_the_module_turned_it_off_or_the_person_left_and_the_reason_is_recorded() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let no_renewal = api
        .post(
            "/training-modules",
            key,
            json!({ "title": "Vendor remote access", "completionIntervalDays": 365, "renewalEnabled": false }),
        )
        .await
        .expect(201);
    assert_eq!(no_renewal["renewalEnabled"], false);
    let turned_off = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": id_of(&no_renewal), "dueDate": due_in(0) }),
        )
        .await
        .expect(201);
    let turned_off = id_of(&turned_off);
    let leaver = api.create_user(&p.org, "leaver@utility.example", "Lee Leaver").await;
    let left = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": leaver, "trainingModuleId": p.module, "dueDate": due_in(0) }),
        )
        .await
        .expect(201);
    let left = id_of(&left);
    // Someone already assigned the next round by hand.
    let followed_up = id_of(&assign(&api, &p, &due_in(0)).await);
    assign(&api, &p, &due_in(20)).await;
    let long_ago = Timestamp::now().minus_days(360);
    complete(&api, &p, &turned_off, long_ago).await;
    complete(&api, &p, &left, long_ago).await;
    complete(&api, &p, &followed_up, long_ago).await;
    api.patch(&format!("/users/{leaver}"), key, json!({ "status": "suspended" }))
        .await
        .expect(200);

    let report = run(&api, Timestamp::now()).await;
    assert_eq!(report.total_renewed(), 0, "{report:?}");
    assert_eq!(report.renewal_skipped.get("renewal_disabled"), Some(&1), "{report:?}");
    assert_eq!(report.renewal_skipped.get("member_not_active"), Some(&1), "{report:?}");
    assert_eq!(report.renewal_skipped.get("already_assigned"), Some(&1), "{report:?}");
    for (id, reason) in [
        (&turned_off, "renewal_disabled"),
        (&left, "member_not_active"),
        (&followed_up, "already_assigned"),
    ] {
        assert_eq!(
            stored(&api, &p.org.id, id).await.state.renewal(),
            Some(&RenewalMark::Skipped(reason.to_string()))
        );
        let trail = api.audit_trail_of(&p.org, id).await;
        assert!(
            trail
                .iter()
                .any(|event| event["action"] == "training_assignment.renewal_skipped"
                    && event["summary"]["reason"] == reason)
        );
    }
    assert_eq!(run(&api, Timestamp::now()).await.renewal_skipped.len(), 0);
}

/// Time is the injected clock's, everywhere: the API's computed status, a person's standing,
/// the job's run and the audit trail's times and time ranges all follow `api.clock()`, far
/// from today.
#[tokio::test]
async fn a_set_clock_moves_status_the_daily_job_and_the_audit_trail_together() {
    let start = Timestamp::parse("t", "2031-03-01T09:00:00Z").unwrap();
    let api = TestApi::new_at(start).await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let assigned = assign(&api, &p, "2031-03-10").await;
    let id = id_of(&assigned);
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["createdAt"], "2031-03-01T09:00:00Z");

    let after_due = Timestamp::parse("t", "2031-03-11T00:30:00Z").unwrap();
    api.clock().set(after_due);
    let read = api.get(&format!("/training-assignments/{id}"), key).await.expect(200);
    assert_eq!(read["status"], "overdue", "the computed status reads the clock's day");
    let standing = api
        .get(&format!("/users/{}/training-status", p.user), key)
        .await
        .expect(200);
    assert_eq!(
        standing["asOf"], "2031-03-11",
        "the standing's default date is the clock's day"
    );
    assert_eq!(stored(&api, &p.org.id, &id).await.status, TrainingStatus::Assigned);

    let report = run(&api, api.clock().now()).await;
    assert_eq!(report.marked_overdue.get(p.org.id.as_str()), Some(&1), "{report:?}");
    let marked = stored(&api, &p.org.id, &id).await;
    assert_eq!(marked.marked_overdue_at, Some(after_due));
    let trail = api.audit_trail_of(&p.org, &id).await;
    let event = trail
        .iter()
        .find(|event| event["action"] == "training_assignment.marked_overdue")
        .expect("the marking's event");
    assert_eq!(event["occurredAt"], "2031-03-11T00:30:00Z");
    // An event's id carries its instant: a time range of the clock's days finds it, and
    // one ending before it does not.
    let in_range = api
        .get(
            &format!("/audit-events?targetId={id}&from=2031-03-11T00:00:00Z&to=2031-03-11T01:00:00Z"),
            key,
        )
        .await
        .expect(200);
    assert_eq!(in_range["data"].as_array().unwrap().len(), 1, "{in_range}");
    let before = api
        .get(&format!("/audit-events?targetId={id}&to=2031-03-10T23:59:59Z"), key)
        .await
        .expect(200);
    assert_eq!(before["data"][0]["action"], "training_assignment.created", "{before}");
    assert_eq!(before["data"].as_array().unwrap().len(), 1, "{before}");
}

/// Work for both halves of the job: three assignments that go past due, two completions
/// that expire within the window (one renewed, one whose module turned renewal off).
async fn work_for_the_job(api: &TestApi) -> Program {
    let p = program(api).await;
    for days in [1, 2, 3] {
        assign(api, &p, &due_in(days)).await;
    }
    // Renewed: no other assignment of its module is open.
    let physical = json!({ "title": "Physical security", "completionIntervalDays": 365 });
    let renewed = assign_in_new_module(api, &p, physical).await;
    complete(api, &p, &renewed, Timestamp::now().minus_days(350)).await;
    let off = json!({ "title": "Vendor remote access", "completionIntervalDays": 365, "renewalEnabled": false });
    let skipped = assign_in_new_module(api, &p, off).await;
    complete(api, &p, &skipped, Timestamp::now().minus_days(350)).await;
    p
}

/// What the job left, without the ids that differ from one organization to another: each
/// assignment's status, due date and renewal links, and the audit trail's actions.
async fn what_the_job_left(api: &TestApi, p: &Program) -> (Vec<String>, Vec<String>) {
    let list = api
        .get("/training-assignments?limit=100&sort=dueDate", &p.org.admin_key)
        .await
        .expect(200);
    let mut assignments: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} due {} renewalOf:{} renewedBy:{}",
                a["status"],
                a["dueDate"],
                a.get("renewalOf").is_some(),
                a.get("renewedBy").is_some()
            )
        })
        .collect();
    assignments.sort();
    let events = api.get("/audit-events?limit=100", &p.org.admin_key).await.expect(200);
    let mut actions: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_string())
        .collect();
    actions.sort();
    (assignments, actions)
}

#[tokio::test]
async fn a_job_killed_at_any_call_and_run_again_leaves_what_one_clean_run_does() {
    let proxy = FaultProxy::start(TestApi::emulator_address()).await;
    let api = TestApi::through(&proxy).await;
    let now = in_days(10);

    let clean = work_for_the_job(&api).await;
    proxy.forget_seen();
    let report = run(&api, now).await;
    assert!(
        report.finished && report.renewed.len() == 1 && report.renewal_skipped.len() == 1,
        "{report:?}"
    );
    let calls = proxy.seen().len();
    let expected = what_the_job_left(&api, &clean).await;
    // The organization made for a test is the table's only one: a new table per point.
    for kill_at in [1, 2, calls / 4, calls / 2, calls * 3 / 4, calls - 1, calls] {
        let proxy = FaultProxy::start(TestApi::emulator_address()).await;
        let api = TestApi::through(&proxy).await;
        let p = work_for_the_job(&api).await;
        proxy.forget_seen();
        // The call `kill_at` reaches DynamoDB, and its answer and every later call are
        // lost: the function died there.
        proxy.fault(Target::AnyDynamoDb, Fault::LoseAnswer, Times::Nth(kill_at));
        proxy.fault(Target::AnyDynamoDb, Fault::Drop, Times::After(kill_at - 1));
        let killed = Box::pin(run_daily(
            api.store(),
            now,
            &ScheduleSettings {
                renewal_window_days: 30,
                deadline: None,
            },
        ))
        .await;
        assert!(killed.is_err(), "killed at call {kill_at} of {calls}: {killed:?}");
        proxy.heal();
        run(&api, now).await;
        assert_eq!(
            what_the_job_left(&api, &p).await,
            expected,
            "killed at call {kill_at} of {calls}, then run again"
        );
    }
}
