//! Training requirements (issue 25): declared once, assignments follow through the engine
//! as Lambda runs it (the table's stream and the schedule, from the emulator), and the
//! gaps agree with each person's training status.

use std::collections::BTreeSet;

use integration_tests::{TestApi, TestOrg};
use raptor_shared::ids::UserId;
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

use crate::training_program::id_of;

async fn module(api: &TestApi, org: &TestOrg, title: &str) -> String {
    id_of(
        &api.post(
            "/training-modules",
            &org.admin_key,
            json!({ "title": title, "cipStandard": "CIP-004", "completionIntervalDays": 365 }),
        )
        .await
        .expect(201),
    )
}

async fn requirement(api: &TestApi, org: &TestOrg, body: Value) -> Value {
    api.post("/training-requirements", &org.admin_key, body)
        .await
        .expect(201)
}

/// A person's assignments, as the API lists them.
async fn assignments_of(api: &TestApi, org: &TestOrg, user: &str) -> Vec<Value> {
    let page = api
        .get(
            &format!("/training-assignments?userId={user}&limit=100"),
            &org.admin_key,
        )
        .await
        .expect(200);
    page["data"].as_array().unwrap().clone()
}

/// Every assignment of a module, through every page.
async fn count_of_module(api: &TestApi, org: &TestOrg, module: &str) -> usize {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/training-assignments?moduleId={module}&limit=100");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = api.get(&path, &org.admin_key).await.expect(200);
        count += page["data"].as_array().unwrap().len();
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return count,
        }
    }
}

#[tokio::test]
async fn a_new_member_matching_two_requirements_gets_two_assignments_once_and_a_role_change_adds_more() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let awareness = module(&api, &org, "Cyber security awareness").await;
    let access = module(&api, &org, "Access control for developers").await;
    let audit = module(&api, &org, "Evidence handling").await;
    let everyone = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": awareness, "appliesTo": { "everyone": true }, "dueWithinDays": 30 }),
    )
    .await;
    assert_eq!(everyone["backfill"]["status"], "running");
    let developers = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": access, "appliesTo": { "roles": ["developer"] }, "dueWithinDays": 14, "beforeAccess": true }),
    )
    .await;
    let auditors = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": audit, "appliesTo": { "roles": ["auditor"] }, "dueWithinDays": 60 }),
    )
    .await;
    // The requirements' backfills (and the admin's own creation, in the same records):
    // the bootstrap admin is one of everyone, assigned once.
    api.run_training_rules(&org_id).await.expect("the requirements' events");
    let done = api
        .get(&format!("/training-requirements/{}", id_of(&everyone)), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(done["backfill"]["status"], "done");
    assert_eq!(done["backfill"]["membersExamined"], 1);
    let admins = assignments_of(&api, &org, org.admin_id.as_str()).await;
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0]["requirementId"], id_of(&everyone).as_str());

    let (person, _) = api.member_with_key(&org, "dev@utility.example", &["developer"]).await;
    let event = api.training_rules_event(&org_id).await.expect("the user's creation");
    // Lambda may deliver a batch twice, and two deliveries may run at once.
    let (first, second) = tokio::join!(
        api.invoke_training_rules(event.clone()),
        api.invoke_training_rules(event.clone())
    );
    let third = api.invoke_training_rules(event).await;
    let created: u64 = [&first, &second, &third]
        .iter()
        .map(|report| report["assignmentsCreated"].as_u64().unwrap())
        .sum();
    assert_eq!(created, 2, "{first} {second} {third}");
    let mine = assignments_of(&api, &org, &person).await;
    let made: BTreeSet<(String, String)> = mine
        .iter()
        .map(|a| {
            (
                a["trainingModuleId"].as_str().unwrap().to_string(),
                a["requirementId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        made,
        BTreeSet::from([
            (awareness.clone(), id_of(&everyone)),
            (access.clone(), id_of(&developers)),
        ])
    );
    let today = api.clock().today();
    let access_assignment = mine.iter().find(|a| a["trainingModuleId"] == access.as_str()).unwrap();
    assert_eq!(access_assignment["dueDate"], today.plus_days(14).unwrap().to_string());
    // The engine acts as the system user, and the audit trail says so.
    let trail = api
        .audit_trail_of(&org, access_assignment["id"].as_str().unwrap())
        .await;
    assert_eq!(trail[0]["actorId"], UserId::system().as_str());

    // A role change adds what the new role requires; nothing is made twice.
    api.patch(
        &format!("/users/{person}"),
        &org.admin_key,
        json!({ "roles": ["developer", "auditor"] }),
    )
    .await
    .expect(200);
    api.run_training_rules(&org_id).await.expect("the role change");
    let mine = assignments_of(&api, &org, &person).await;
    assert_eq!(mine.len(), 3);
    assert!(
        mine.iter()
            .any(|a| a["trainingModuleId"] == audit.as_str() && a["requirementId"] == id_of(&auditors).as_str())
    );

    // Training status names the requirement each verdict answers to.
    let status = api
        .get(&format!("/users/{person}/training-status"), &org.admin_key)
        .await
        .expect(200);
    let modules = status["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 3);
    let access_standing = modules
        .iter()
        .find(|m| m["trainingModuleId"] == access.as_str())
        .unwrap();
    assert_eq!(access_standing["requirementIds"], json!([id_of(&developers)]));
    assert_eq!(access_standing["verdict"], "never_completed");

    // Losing the role keeps the records and ends the need: no longer a gap.
    api.patch(
        &format!("/users/{person}"),
        &org.admin_key,
        json!({ "roles": ["developer"] }),
    )
    .await
    .expect(200);
    api.run_training_rules(&org_id).await;
    assert_eq!(assignments_of(&api, &org, &person).await.len(), 3);
    let gaps = api
        .get(
            &format!("/training-requirements/gaps?requirementId={}", id_of(&auditors)),
            &org.admin_key,
        )
        .await
        .expect(200);
    assert_eq!(gaps["data"], json!([]));
}

#[tokio::test]
async fn a_facility_requirement_follows_the_facilities_a_person_gains() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let physical = module(&api, &org, "Physical security at substations").await;
    let north = id_of(
        &api.post("/facilities", &org.admin_key, json!({ "name": "North" }))
            .await
            .expect(201),
    );
    let south = id_of(
        &api.post("/facilities", &org.admin_key, json!({ "name": "South" }))
            .await
            .expect(201),
    );
    let at_north = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": physical, "appliesTo": { "facilityIds": [north] }, "dueWithinDays": 7 }),
    )
    .await;
    let person = api.create_user(&org, "tech@utility.example", "Field Tech").await;
    api.run_training_rules(&org_id).await;
    assert!(
        assignments_of(&api, &org, &person).await.is_empty(),
        "no facility, no need"
    );

    api.post(
        &format!("/users/{person}/facilities"),
        &org.admin_key,
        json!({ "facilityIds": [south, north] }),
    )
    .await
    .expect(200);
    let report = api.run_training_rules(&org_id).await.expect("the facilities change");
    assert_eq!(report["assignmentsCreated"], 1);
    let mine = assignments_of(&api, &org, &person).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["requirementId"], id_of(&at_north).as_str());
    let scope: Vec<&str> = mine[0]["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        scope,
        vec![north.as_str()],
        "scoped to the facilities the requirement covers"
    );

    // At South nothing is asked; at North the person is a gap.
    let at = |facility: &str| format!("/training-requirements/gaps?facilityId={facility}");
    assert_eq!(
        api.get(&at(&south), &org.admin_key).await.expect(200)["data"],
        json!([])
    );
    let gaps = api.get(&at(&north), &org.admin_key).await.expect(200);
    assert_eq!(gaps["data"][0]["userId"], person.as_str());
    assert_eq!(gaps["data"][0]["verdict"], "never_completed");
}

#[tokio::test]
async fn a_widened_requirement_backfills_a_thousand_members_in_batches() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let awareness = module(&api, &org, "Cyber security awareness").await;
    api.import_members(&org, 1000).await;
    let narrow = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": awareness, "appliesTo": { "roles": ["auditor"] }, "dueWithinDays": 30 }),
    )
    .await;
    let id = id_of(&narrow);
    api.run_training_rules(&org_id)
        .await
        .expect("the requirement's creation");
    assert_eq!(count_of_module(&api, &org, &awareness).await, 0, "nobody is an auditor");

    let widened = api
        .patch(
            &format!("/training-requirements/{id}"),
            &org.admin_key,
            json!({ "appliesTo": { "everyone": true } }),
        )
        .await
        .expect(200);
    assert_eq!(widened["backfill"]["status"], "running");
    assert_eq!(widened["backfill"]["membersExamined"], 0);

    // The schedule's runs, three batches of 100 members each.
    let run = api.sweep_training_rules(&org_id, 3).await;
    assert_eq!(run["backfillBatches"], 3);
    let progress = api
        .get(&format!("/training-requirements/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(progress["backfill"]["status"], "running");
    assert_eq!(progress["backfill"]["membersExamined"], 300);
    assert_eq!(count_of_module(&api, &org, &awareness).await, 300);

    let rest = api.sweep_training_rules(&org_id, 100).await;
    assert_eq!(rest["backfillBatches"], 8, "1,001 members: 11 batches in all");
    let done = api
        .get(&format!("/training-requirements/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(done["backfill"]["status"], "done");
    assert_eq!(done["backfill"]["membersExamined"], 1001);
    assert_eq!(done["backfill"]["assignmentsCreated"], 1001);
    assert_eq!(count_of_module(&api, &org, &awareness).await, 1001);

    // The widening's own event runs nothing twice; neither does another sweep.
    let replay = api.run_training_rules(&org_id).await.expect("the widening's event");
    assert_eq!(replay["assignmentsCreated"], 0);
    assert_eq!(api.sweep_training_rules(&org_id, 100).await["backfillBatches"], 0);
    assert_eq!(count_of_module(&api, &org, &awareness).await, 1001);
}

#[tokio::test]
async fn a_requirement_deleted_mid_backfill_stops_it_and_keeps_what_it_made() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let awareness = module(&api, &org, "Cyber security awareness").await;
    api.import_members(&org, 250).await;
    let everyone = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": awareness, "appliesTo": { "everyone": true }, "dueWithinDays": 30 }),
    )
    .await;
    let id = id_of(&everyone);
    assert_eq!(api.sweep_training_rules(&org_id, 1).await["assignmentsCreated"], 100);

    let deleted = api
        .delete(&format!("/training-requirements/{id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(deleted["id"], id.as_str());
    api.get(&format!("/training-requirements/{id}"), &org.admin_key)
        .await
        .expect_error(404, "not_found");
    let after = api.sweep_training_rules(&org_id, 10).await;
    assert_eq!(after["backfillBatches"], 0, "{after}");
    let replay = api.run_training_rules(&org_id).await.expect("the requirement's events");
    assert_eq!(replay["assignmentsCreated"], 0);
    assert_eq!(count_of_module(&api, &org, &awareness).await, 100, "what it made stays");
    let trail = api.audit_trail_of(&org, &id).await;
    assert_eq!(trail[0]["action"], "training_requirement.deleted");
}

/// The gap verdicts of every person on a date, from the gaps list.
async fn gaps_on(api: &TestApi, org: &TestOrg, date: &str) -> BTreeSet<(String, String, String)> {
    let mut rows = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/training-requirements/gaps?asOf={date}&limit=2");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = api.get(&path, &org.admin_key).await.expect(200);
        for gap in page["data"].as_array().unwrap() {
            rows.insert((
                gap["userId"].as_str().unwrap().to_string(),
                gap["requirementId"].as_str().unwrap().to_string(),
                gap["verdict"].as_str().unwrap().to_string(),
            ));
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return rows,
        }
    }
}

/// The same, from each person's training status.
async fn status_gaps_on(
    api: &TestApi,
    org: &TestOrg,
    people: &[&str],
    date: &str,
) -> BTreeSet<(String, String, String)> {
    let mut rows = BTreeSet::new();
    for person in people {
        let status = api
            .get(&format!("/users/{person}/training-status?asOf={date}"), &org.admin_key)
            .await
            .expect(200);
        for module in status["modules"].as_array().unwrap() {
            let verdict = module["verdict"].as_str().unwrap();
            if matches!(verdict, "current" | "expiring" | "waived") {
                continue;
            }
            for requirement in module["requirementIds"].as_array().unwrap() {
                rows.insert((
                    person.to_string(),
                    requirement.as_str().unwrap().to_string(),
                    verdict.to_string(),
                ));
            }
        }
    }
    rows
}

#[tokio::test]
async fn gaps_agree_with_training_status_for_every_person_on_three_dates() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let awareness = module(&api, &org, "Cyber security awareness").await;
    let access = module(&api, &org, "Access control").await;
    let everyone = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": awareness, "appliesTo": { "everyone": true }, "dueWithinDays": 30 }),
    )
    .await;
    let before_access = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": access, "appliesTo": { "roles": ["developer"] }, "dueWithinDays": 10, "beforeAccess": true }),
    )
    .await;
    let done = api.create_user(&org, "done@utility.example", "Done").await;
    let (pending, _) = api
        .member_with_key(&org, "pending@utility.example", &["developer"])
        .await;
    let lapsed = api.create_user(&org, "lapsed@utility.example", "Lapsed").await;
    api.run_training_rules(&org_id).await.expect("the people's creation");
    let now = Timestamp::now();
    let complete = |person: &str, at: Timestamp| {
        let person = person.to_string();
        let awareness = awareness.clone();
        let api = &api;
        let org = &org;
        async move {
            let mine = assignments_of(api, org, &person).await;
            let assignment = mine
                .iter()
                .find(|a| a["trainingModuleId"] == awareness.as_str())
                .unwrap();
            api.post(
                &format!("/training-assignments/{}/complete", assignment["id"].as_str().unwrap()),
                &org.admin_key,
                json!({ "completedAt": at.to_string() }),
            )
            .await
            .expect(200);
        }
    };
    complete(&done, now.minus_days(1)).await;
    // A completion of 400 days ago: expired before today (365-day module).
    complete(&lapsed, now.minus_days(400)).await;
    // Someone the engine never heard of: never assigned.
    let unheard = api.import_members(&org, 1).await[0].to_string();

    let admin = org.admin_id.to_string();
    let people = [admin.as_str(), &done, &pending, &lapsed, &unheard];
    let today = now.date();
    for date in [now.minus_days(2).date(), today, today.plus_days(40).unwrap()] {
        let date = date.to_string();
        let listed = gaps_on(&api, &org, &date).await;
        assert_eq!(listed, status_gaps_on(&api, &org, &people, &date).await, "on {date}");
        assert!(!listed.is_empty());
    }
    let today_gaps = gaps_on(&api, &org, &today.to_string()).await;
    let verdict_of = |person: &str, requirement: &Value| {
        today_gaps
            .iter()
            .find(|(user, id, _)| user == person && id == requirement["id"].as_str().unwrap())
            .map(|(_, _, verdict)| verdict.clone())
    };
    assert_eq!(verdict_of(&done, &everyone), None);
    assert_eq!(verdict_of(&lapsed, &everyone).as_deref(), Some("expired"));
    assert_eq!(verdict_of(&unheard, &everyone).as_deref(), Some("not_assigned"));
    assert_eq!(verdict_of(&pending, &before_access).as_deref(), Some("never_completed"));

    // `beforeAccess` gaps come first; overdue says the due date has passed.
    let later = today.plus_days(40).unwrap();
    let first = api
        .get(&format!("/training-requirements/gaps?asOf={later}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(first["data"][0]["requirementId"], id_of(&before_access).as_str());
    assert_eq!(first["data"][0]["beforeAccess"], true);
    assert_eq!(first["data"][0]["overdue"], true);
    assert_eq!(first["data"][0]["displayName"], "pending@utility.example");
}

#[tokio::test]
async fn requirements_are_validated_permissioned_and_kept_to_their_organization() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let other = api.new_organization().await;
    let key = &org.admin_key;
    let awareness = module(&api, &org, "Cyber security awareness").await;
    let theirs = module(&api, &other, "Their module").await;
    let their_facility = id_of(
        &api.post("/facilities", &other.admin_key, json!({ "name": "Theirs" }))
            .await
            .expect(201),
    );
    let body = |module: &str, applies_to: Value, days: u32| json!({ "trainingModuleId": module, "appliesTo": applies_to, "dueWithinDays": days });
    for (bad, field) in [
        (body(&awareness, json!({}), 30), "appliesTo"),
        (
            body(&awareness, json!({ "everyone": true, "roles": ["viewer"] }), 30),
            "appliesTo",
        ),
        (body(&awareness, json!({ "roles": ["pilot"] }), 30), "appliesTo.roles"),
        (body(&awareness, json!({ "everyone": true }), 0), "dueWithinDays"),
        (body(&awareness, json!({ "everyone": true }), 366), "dueWithinDays"),
    ] {
        let error = api
            .post("/training-requirements", key, bad)
            .await
            .expect_error(400, "validation_error");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    // Another organization's module, facility or role names nothing here.
    api.post(
        "/training-requirements",
        key,
        body(&theirs, json!({ "everyone": true }), 30),
    )
    .await
    .expect_error(404, "not_found");
    api.post(
        "/training-requirements",
        key,
        body(&awareness, json!({ "facilityIds": [their_facility] }), 30),
    )
    .await
    .expect_error(404, "not_found");
    let created = requirement(&api, &org, body(&awareness, json!({ "everyone": true }), 30)).await;
    let id = id_of(&created);
    let error = api
        .patch(
            &format!("/training-requirements/{id}"),
            key,
            json!({ "trainingModuleId": awareness }),
        )
        .await
        .expect_error(400, "validation_error");
    assert_eq!(error["error"]["field"], "trainingModuleId");
    // Their admin sees and changes nothing of ours, and our rules assign nobody of theirs.
    api.get(&format!("/training-requirements/{id}"), &other.admin_key)
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("/training-requirements/{id}"), &other.admin_key)
        .await
        .expect_error(404, "not_found");
    let listed = api.get("/training-requirements", &other.admin_key).await.expect(200);
    assert_eq!(listed["data"], json!([]));
    let their_person = api.create_user(&other, "them@other.example", "Them").await;
    api.run_training_rules(&other.id.to_string()).await;
    api.run_training_rules(&org.id.to_string()).await;
    assert!(assignments_of(&api, &other, &their_person).await.is_empty());
    let their_gaps = api
        .get("/training-requirements/gaps", &other.admin_key)
        .await
        .expect(200);
    assert_eq!(their_gaps["data"], json!([]));

    // A viewer reads requirements and gaps but declares none.
    let (_, viewer) = api.member_with_key(&org, "viewer@utility.example", &["viewer"]).await;
    api.get("/training-requirements", &viewer).await.expect(200);
    api.get("/training-requirements/gaps", &viewer).await.expect(200);
    api.post(
        "/training-requirements",
        &viewer,
        body(&awareness, json!({ "everyone": true }), 30),
    )
    .await
    .expect_error(403, "forbidden");
    // A retired module takes no new requirement.
    api.delete(&format!("/training-modules/{awareness}"), key)
        .await
        .expect(200);
    api.post(
        "/training-requirements",
        key,
        body(&awareness, json!({ "everyone": true }), 30),
    )
    .await
    .expect_error(409, "conflict");
}

#[tokio::test]
async fn a_person_who_accepts_an_invitation_is_assigned_what_their_roles_require() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let access = module(&api, &org, "Access control for developers").await;
    let developers = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": access, "appliesTo": { "roles": ["developer"] }, "dueWithinDays": 14 }),
    )
    .await;
    let address = format!(
        "invitee.{}@utility.example",
        UserId::new().as_str().trim_start_matches("usr_")
    );
    api.post(
        "/invitations",
        &org.admin_key,
        json!({ "email": address, "displayName": "Invitee", "roles": ["developer"] }),
    )
    .await
    .expect(201);
    let token = integration_tests::sent_emails_to(&address)
        .pop()
        .expect("the invitation email")
        .token();
    let joined = api
        .call("POST", "/invitations/accept", None, Some(json!({ "token": token })))
        .await
        .expect(201);
    let person = joined["id"].as_str().unwrap();
    let report = api.run_training_rules(org.id.as_str()).await.expect("the acceptance");
    assert_eq!(report["assignmentsCreated"], 1, "{report}");
    let mine = assignments_of(&api, &org, person).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["requirementId"], id_of(&developers).as_str());
}

/// A role held through a group asks for the same training as one held directly (docs/groups.md):
/// joining the group, and the group being given the role, each make the assignment; the
/// person's training status and the gaps count them; and nothing is made twice.
#[tokio::test]
async fn a_role_held_through_a_group_asks_for_its_training_as_a_role_held_directly() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let org_id = org.id.to_string();
    let access = module(&api, &org, "Access control for developers").await;
    let developers = requirement(
        &api,
        &org,
        json!({ "trainingModuleId": access, "appliesTo": { "roles": ["developer"] }, "dueWithinDays": 14 }),
    )
    .await;
    let joiner = api.create_user(&org, "joiner@utility.example", "Joins A Group").await;
    let member = api
        .create_user(&org, "member@utility.example", "Already A Member")
        .await;
    let crew = api
        .post(
            "/groups",
            &org.admin_key,
            json!({ "displayName": "Release crew", "roles": [], "userIds": [member] }),
        )
        .await
        .expect(201);
    let crew_id = id_of(&crew);
    let devs = api
        .post(
            "/groups",
            &org.admin_key,
            json!({ "displayName": "Developers", "roles": ["developer"] }),
        )
        .await
        .expect(201);
    api.run_training_rules(&org_id).await;
    assert!(assignments_of(&api, &org, &joiner).await.is_empty());
    assert!(assignments_of(&api, &org, &member).await.is_empty());

    // Joining a group that grants the role.
    api.post(
        &format!("/groups/{}/members", id_of(&devs)),
        &org.admin_key,
        json!({ "userIds": [joiner] }),
    )
    .await
    .expect(200);
    api.run_training_rules(&org_id)
        .await
        .expect("the member's groups changed");
    let made = assignments_of(&api, &org, &joiner).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["requirementId"], id_of(&developers).as_str());

    // A group being given the role: each of its members.
    api.patch(
        &format!("/groups/{crew_id}"),
        &org.admin_key,
        json!({ "roles": ["developer"] }),
    )
    .await
    .expect(200);
    api.run_training_rules(&org_id)
        .await
        .expect("the group's roles changed");
    let made = assignments_of(&api, &org, &member).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["trainingModuleId"], access.as_str());
    // Renaming the group again changes nobody's roles: nothing more is made.
    api.patch(
        &format!("/groups/{crew_id}"),
        &org.admin_key,
        json!({ "displayName": "Release crew (north)" }),
    )
    .await
    .expect(200);
    api.run_training_rules(&org_id).await;
    assert_eq!(assignments_of(&api, &org, &member).await.len(), 1);

    // The person's standing names the requirement; both are gaps until trained.
    let status = api
        .get(&format!("/users/{member}/training-status"), &org.admin_key)
        .await
        .expect(200);
    let standing = &status["modules"].as_array().unwrap()[0];
    assert_eq!(standing["requirementIds"], json!([id_of(&developers)]));
    let gaps = api
        .get(
            &format!("/training-requirements/gaps?requirementId={}", id_of(&developers)),
            &org.admin_key,
        )
        .await
        .expect(200);
    let people: BTreeSet<&str> = gaps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|gap| gap["userId"].as_str().unwrap())
        .collect();
    assert_eq!(people, BTreeSet::from([joiner.as_str(), member.as_str()]));
}
