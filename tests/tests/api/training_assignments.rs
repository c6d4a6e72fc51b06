//! Training assignments (seed 001, CIP-004 R2): the samples, every status transition,
//! filters and sorts, facility scope, and what another organization cannot do.

use integration_tests::TestApi;
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

use crate::training_program::{assign, due_in, id_of, keys_of, program, scoped_key};

#[tokio::test]
async fn the_seed_samples_create_scope_and_complete_an_assignment_field_for_field() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    // Seed 001's body; its due date moved into the future so it reads `assigned` today.
    let due = due_in(30);
    let notes = "Annual CIP-004 requirement. Personnel joined 2025-02-01.";
    let created = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due, "notes": notes }),
        )
        .await
        .expect(201);
    assert_eq!(
        keys_of(&created),
        vec![
            "completedAt",
            "createdAt",
            "dueDate",
            "facilities",
            "id",
            "notes",
            "status",
            "trainingModuleId",
            "updatedAt",
            "userId"
        ]
    );
    let id = id_of(&created);
    assert!(id.starts_with("ta_"));
    assert_eq!(created["userId"], p.user.as_str());
    assert_eq!(created["trainingModuleId"], p.module.as_str());
    assert_eq!(created["status"], "assigned");
    assert_eq!(created["dueDate"], due.as_str());
    assert_eq!(created["completedAt"], Value::Null);
    assert_eq!(created["notes"], notes);
    assert_eq!(created["facilities"], json!([]));
    assert_eq!(created["createdAt"], created["updatedAt"]);
    assert_eq!(
        api.get(&format!("/training-assignments/{id}"), key).await.expect(200),
        created
    );

    // Seed 001: scope it to two facilities.
    let scoped = api
        .post(
            &format!("/training-assignments/{id}/facilities"),
            key,
            json!({ "facilityIds": [p.alpha, p.beta] }),
        )
        .await
        .expect(200);
    assert_eq!(
        scoped,
        json!({
            "trainingAssignmentId": id,
            "facilities": [
                { "id": p.alpha, "name": "Substation Alpha" },
                { "id": p.beta, "name": "Substation Beta" }
            ]
        })
    );
    assert_eq!(
        api.get(&format!("/training-assignments/{id}/facilities"), key)
            .await
            .expect(200),
        scoped
    );

    // Seed 001: mark it complete.
    let completed = api
        .post(
            &format!("/training-assignments/{id}/complete"),
            key,
            json!({ "completedAt": "2025-04-10T14:15:00Z", "score": 94, "certificateReference": "CERT-2025-04-10-USR01" }),
        )
        .await
        .expect(200);
    let sample = json!({
        "id": id,
        "userId": p.user,
        "trainingModuleId": p.module,
        "status": "complete",
        "dueDate": due,
        "completedAt": "2025-04-10T14:15:00Z",
        "score": 94,
        "certificateReference": "CERT-2025-04-10-USR01"
    });
    for (field, value) in sample.as_object().unwrap() {
        assert_eq!(&completed[field], value, "{field}");
    }
    // Beyond the seed: who recorded it, and when it stops counting (365 days later).
    assert_eq!(completed["completedBy"], p.org.admin_id.as_str());
    assert_eq!(completed["expiresAt"], "2026-04-10T14:15:00Z");

    let trail = api.audit_trail_of(&p.org, &id).await;
    let actions: Vec<&str> = trail.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "training_assignment.completed",
            "training_assignment.facilities_added",
            "training_assignment.created"
        ]
    );
}

#[tokio::test]
async fn every_transition_is_recorded_and_a_closed_record_never_changes() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let id = id_of(&assign(&api, &p, &due_in(10)).await);
    let path = |action: &str| format!("/training-assignments/{id}{action}");

    let started = api.post(&path("/start"), key, json!({})).await.expect(200);
    assert_eq!(started["status"], "in_progress");
    assert!(started["startedAt"].is_string());
    // Starting twice is not a change.
    assert_eq!(api.post(&path("/start"), key, json!({})).await.expect(200), started);
    // Completing with no body: completed now.
    let completed = api.call("POST", &path("/complete"), Some(key), None).await.expect(200);
    assert_eq!(completed["status"], "complete");
    assert!(completed["completedAt"].is_string());
    for refused in [
        api.post(&path("/complete"), key, json!({})).await,
        api.post(&path("/start"), key, json!({})).await,
        api.post(&path("/waive"), key, json!({ "reason": "late" })).await,
        api.patch(&path(""), key, json!({ "notes": "rewritten" })).await,
        api.post(&path("/facilities"), key, json!({ "facilityIds": [p.alpha] }))
            .await,
        api.delete(&path(""), key).await,
    ] {
        refused.expect_error(409, "conflict");
    }
    assert_eq!(api.get(&path(""), key).await.expect(200), completed);

    // A waiver needs training:waive; a developer holds training:write only.
    let waivable = id_of(&assign(&api, &p, &due_in(10)).await);
    let waive = format!("/training-assignments/{waivable}/waive");
    let (_, developer) = api.member_with_key(&p.org, "dev@utility.example", &["developer"]).await;
    let refused = api
        .post(&waive, &developer, json!({ "reason": "Contractor left" }))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(refused["error"]["permission"], "training:waive");
    api.post(&waive, key, json!({}))
        .await
        .expect_error(400, "validation_error");
    api.post(&waive, key, json!({ "reason": "  " }))
        .await
        .expect_error(400, "validation_error");
    let waived = api
        .post(
            &waive,
            key,
            json!({ "reason": "Contractor left before access was granted" }),
        )
        .await
        .expect(200);
    assert_eq!(waived["status"], "waived");
    assert_eq!(waived["waivedBy"], p.org.admin_id.as_str());
    assert_eq!(waived["waiverReason"], "Contractor left before access was granted");
    for refused in [
        api.post(&format!("/training-assignments/{waivable}/complete"), key, json!({}))
            .await,
        api.post(&format!("/training-assignments/{waivable}/start"), key, json!({}))
            .await,
        api.post(&waive, key, json!({ "reason": "again" })).await,
    ] {
        refused.expect_error(409, "conflict");
    }
    // An assignment in progress can be waived too.
    let started_then_waived = id_of(&assign(&api, &p, &due_in(10)).await);
    api.post(
        &format!("/training-assignments/{started_then_waived}/start"),
        key,
        json!({}),
    )
    .await
    .expect(200);
    let waived = api
        .post(
            &format!("/training-assignments/{started_then_waived}/waive"),
            key,
            json!({ "reason": "Moved to a role without access" }),
        )
        .await
        .expect(200);
    assert_eq!(waived["status"], "waived");
    assert!(waived["startedAt"].is_string());

    let actions = |trail: Vec<Value>| -> Vec<String> {
        trail
            .iter()
            .map(|event| event["action"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        actions(api.audit_trail_of(&p.org, &id).await),
        vec![
            "training_assignment.completed",
            "training_assignment.started",
            "training_assignment.created"
        ]
    );
    assert_eq!(
        actions(api.audit_trail_of(&p.org, &waivable).await),
        vec!["training_assignment.waived", "training_assignment.created"]
    );
}

#[tokio::test]
async fn an_open_assignment_can_be_changed_or_deleted_and_a_completion_is_checked() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let id = id_of(&assign(&api, &p, &due_in(10)).await);
    let other_module = api
        .post(
            "/training-modules",
            key,
            json!({ "title": "Physical Security Controls" }),
        )
        .await
        .expect(201);
    let later = due_in(40);
    let changed = api
        .patch(
            &format!("/training-assignments/{id}"),
            key,
            json!({ "dueDate": later, "trainingModuleId": other_module["id"], "notes": "moved" }),
        )
        .await
        .expect(200);
    assert_eq!(changed["dueDate"], later.as_str());
    assert_eq!(changed["trainingModuleId"], other_module["id"]);
    // The first module has no open assignment now, so it can be retired; the second cannot.
    api.delete(&format!("/training-modules/{}", p.module), key)
        .await
        .expect(200);
    api.delete(
        &format!("/training-modules/{}", other_module["id"].as_str().unwrap()),
        key,
    )
    .await
    .expect_error(409, "conflict");
    // A retired module takes no assignments.
    api.patch(
        &format!("/training-assignments/{id}"),
        key,
        json!({ "trainingModuleId": p.module }),
    )
    .await
    .expect_error(409, "conflict");

    for (body, field) in [
        (json!({ "completedAt": "2999-01-01T00:00:00Z" }), "completedAt"),
        (json!({ "completedAt": "2025-04-10" }), "completedAt"),
        (json!({ "score": 101 }), "score"),
        (json!({ "score": -1 }), "score"),
        (json!({ "score": 9.5 }), "score"),
        (json!({ "grade": "A" }), "grade"),
    ] {
        let refused = api
            .post(&format!("/training-assignments/{id}/complete"), key, body.clone())
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    for (body, field) in [
        (json!({ "dueDate": "2025-02-30" }), "dueDate"),
        (json!({ "dueDate": null }), "dueDate"),
        (json!({ "status": "complete" }), "status"),
    ] {
        let refused = api
            .patch(&format!("/training-assignments/{id}"), key, body.clone())
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{body}");
    }

    let deleted = api
        .delete(&format!("/training-assignments/{id}"), key)
        .await
        .expect(200);
    assert_eq!(deleted["id"], id.as_str());
    api.get(&format!("/training-assignments/{id}"), key)
        .await
        .expect_error(404, "not_found");
    // Nothing open names the second module any more.
    api.delete(
        &format!("/training-modules/{}", other_module["id"].as_str().unwrap()),
        key,
    )
    .await
    .expect(200);
    let trail = api.audit_trail_of(&p.org, &id).await;
    assert_eq!(trail[0]["action"], "training_assignment.deleted");
    assert_eq!(trail[0]["summary"]["record"]["notes"], "moved");
}

#[tokio::test]
async fn a_past_due_open_assignment_reads_and_filters_as_overdue_without_any_job() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    // Imported history: seed 001's own due date, long past.
    let late = assign(&api, &p, "2025-04-30").await;
    assert_eq!(late["status"], "overdue");
    let on_time = assign(&api, &p, &due_in(5)).await;
    let statuses = |list: &Value| -> Vec<(String, String)> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (id_of(row), row["status"].as_str().unwrap().to_string()))
            .collect()
    };
    let overdue = api.get("/training-assignments?status=overdue", key).await.expect(200);
    assert_eq!(statuses(&overdue), vec![(id_of(&late), "overdue".to_string())]);
    let assigned = api.get("/training-assignments?status=assigned", key).await.expect(200);
    assert_eq!(statuses(&assigned), vec![(id_of(&on_time), "assigned".to_string())]);
    // Started late is still overdue; moved to a future date it is in progress.
    let late_id = id_of(&late);
    let started = api
        .post(&format!("/training-assignments/{late_id}/start"), key, json!({}))
        .await
        .expect(200);
    assert_eq!(started["status"], "overdue");
    let moved = api
        .patch(
            &format!("/training-assignments/{late_id}"),
            key,
            json!({ "dueDate": due_in(3) }),
        )
        .await
        .expect(200);
    assert_eq!(moved["status"], "in_progress");
    let in_progress = api
        .get("/training-assignments?status=in_progress", key)
        .await
        .expect(200);
    assert_eq!(statuses(&in_progress), vec![(late_id, "in_progress".to_string())]);
    assert!(
        api.get("/training-assignments?status=overdue", key).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_ids_are_404_naming_them_and_inactive_people_or_retired_modules_are_409() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let nobody = "usr_01hx2m7k3q9v8c6b5n4m3k2j1h";
    let no_module = "tm_01hx2m7k3q9v8c6b5n4m3k2j1h";
    let no_facility = "fac_01hx2m7k3q9v8c6b5n4m3k2j1h";
    let due = due_in(10);
    for (body, named) in [
        (
            json!({ "userId": nobody, "trainingModuleId": p.module, "dueDate": due }),
            nobody,
        ),
        (
            json!({ "userId": p.user, "trainingModuleId": no_module, "dueDate": due }),
            no_module,
        ),
        (
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due, "facilityIds": [p.alpha, no_facility] }),
            no_facility,
        ),
    ] {
        let refused = api
            .post("/training-assignments", key, body)
            .await
            .expect_error(404, "not_found");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(named),
            "{refused}"
        );
    }
    for (body, field) in [
        (
            json!({ "userId": "bob", "trainingModuleId": p.module, "dueDate": due }),
            "userId",
        ),
        (
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": "30/04/2025" }),
            "dueDate",
        ),
        (json!({ "userId": p.user, "trainingModuleId": p.module }), "dueDate"),
        (
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due, "status": "complete" }),
            "status",
        ),
    ] {
        let refused = api
            .post("/training-assignments", key, body.clone())
            .await
            .expect_error(400, "validation_error");
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    let id = id_of(&assign(&api, &p, &due).await);
    let refused = api
        .post(
            &format!("/training-assignments/{id}/facilities"),
            key,
            json!({ "facilityIds": [no_facility] }),
        )
        .await
        .expect_error(404, "not_found");
    assert!(refused["error"]["message"].as_str().unwrap().contains(no_facility));
    api.get("/training-assignments/ta_01hx2m7k3q9v8c6b5n4m3k2j1h", key)
        .await
        .expect_error(404, "not_found");
    api.get("/training-assignments/usr_01hx2m7k3q9v8c6b5n4m3k2j1h", key)
        .await
        .expect_error(400, "validation_error");

    // A suspended person cannot be assigned; a retired module takes no new assignments.
    let suspended = api.create_user(&p.org, "away@utility.example", "Away").await;
    api.patch(&format!("/users/{suspended}"), key, json!({ "status": "suspended" }))
        .await
        .expect(200);
    api.post(
        "/training-assignments",
        key,
        json!({ "userId": suspended, "trainingModuleId": p.module, "dueDate": due }),
    )
    .await
    .expect_error(409, "conflict");
    let spare = api
        .post("/training-modules", key, json!({ "title": "Retired course" }))
        .await
        .expect(201);
    api.delete(&format!("/training-modules/{}", id_of(&spare)), key)
        .await
        .expect(200);
    api.post(
        "/training-assignments",
        key,
        json!({ "userId": p.user, "trainingModuleId": spare["id"], "dueDate": due }),
    )
    .await
    .expect_error(409, "conflict");
}

#[tokio::test]
async fn facility_scope_is_added_removed_and_keeps_a_facility_from_being_deleted() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let other = api.new_organization().await;
    let key = &p.org.admin_key;
    let id = id_of(&assign(&api, &p, &due_in(10)).await);
    let facilities = format!("/training-assignments/{id}/facilities");
    api.post(&facilities, key, json!({ "facilityIds": [p.alpha] }))
        .await
        .expect(200);
    // Adding one already in scope is a no-op.
    let again = api
        .post(&facilities, key, json!({ "facilityIds": [p.alpha, p.alpha] }))
        .await
        .expect(200);
    assert_eq!(again["facilities"].as_array().unwrap().len(), 1);
    // Another organization's facility is unknown here.
    let foreign = api
        .post("/facilities", &other.admin_key, json!({ "name": "Their Site" }))
        .await
        .expect(201);
    api.post(&facilities, key, json!({ "facilityIds": [foreign["id"]] }))
        .await
        .expect_error(404, "not_found");
    api.post(&facilities, key, json!({ "facilityIds": [] }))
        .await
        .expect_error(400, "validation_error");

    // In an open assignment's scope, a facility cannot be deleted.
    api.delete(&format!("/facilities/{}", p.alpha), key)
        .await
        .expect_error(409, "conflict");
    api.delete(&format!("{facilities}/{}", p.beta), key)
        .await
        .expect_error(404, "not_found");
    let removed = api.delete(&format!("{facilities}/{}", p.alpha), key).await.expect(200);
    assert_eq!(removed["facilities"], json!([]));
    api.delete(&format!("/facilities/{}", p.alpha), key).await.expect(200);
    // A deleted facility cannot join a scope.
    api.post(&facilities, key, json!({ "facilityIds": [p.alpha] }))
        .await
        .expect_error(409, "conflict");

    // A completed assignment keeps its scope, and frees the facility.
    api.post(&facilities, key, json!({ "facilityIds": [p.beta] }))
        .await
        .expect(200);
    api.post(&format!("/training-assignments/{id}/complete"), key, json!({}))
        .await
        .expect(200);
    api.delete(&format!("/facilities/{}", p.beta), key).await.expect(200);
    let kept = api.get(&facilities, key).await.expect(200);
    assert_eq!(kept["facilities"], json!([{ "id": p.beta, "name": "Substation Beta" }]));
}

#[tokio::test]
async fn another_organization_can_not_see_or_change_my_assignments() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let theirs = api.new_organization().await;
    let id = id_of(&assign(&api, &p, &due_in(10)).await);
    let them = &theirs.admin_key;
    for response in [
        api.get(&format!("/training-assignments/{id}"), them).await,
        api.patch(&format!("/training-assignments/{id}"), them, json!({ "notes": "x" }))
            .await,
        api.post(&format!("/training-assignments/{id}/complete"), them, json!({}))
            .await,
        api.post(&format!("/training-assignments/{id}/start"), them, json!({}))
            .await,
        api.post(
            &format!("/training-assignments/{id}/waive"),
            them,
            json!({ "reason": "x" }),
        )
        .await,
        api.get(&format!("/training-assignments/{id}/facilities"), them).await,
        api.delete(&format!("/training-assignments/{id}"), them).await,
    ] {
        response.expect_error(404, "not_found");
    }
    // My ids as their filters find nothing; my cursor means nothing to them.
    for filter in [
        format!("userId={}", p.user),
        format!("moduleId={}", p.module),
        format!("facilityId={}", p.alpha),
        "status=assigned".to_string(),
        String::new(),
    ] {
        let listed = api
            .get(&format!("/training-assignments?{filter}"), them)
            .await
            .expect(200);
        assert!(listed["data"].as_array().unwrap().is_empty(), "{filter}");
    }
    assign(&api, &p, &due_in(11)).await;
    let page = api
        .get("/training-assignments?limit=1", &p.org.admin_key)
        .await
        .expect(200);
    let cursor = page["nextCursor"].as_str().unwrap();
    api.get(&format!("/training-assignments?limit=1&cursor={cursor}"), them)
        .await
        .expect_error(400, "validation_error");
    assert_eq!(
        api.get(&format!("/training-assignments/{id}"), &p.org.admin_key)
            .await
            .expect(200)["status"],
        "assigned"
    );
}

/// What the test itself knows of an assignment it made, to compute each answer
/// independently of the API.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    user: usize,
    module: usize,
    facilities: Vec<usize>,
    due: String,
    status: &'static str,
    completed_at: Option<i64>,
    expires_at: Option<i64>,
}

fn millis(text: &str) -> i64 {
    Timestamp::parse("t", text).unwrap().millis()
}

/// Every page of a list, following `nextCursor`; fails on a repeated row.
async fn every_page(api: &TestApi, key: &str, query: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let separator = if query.is_empty() { "" } else { "&" };
    let mut path = format!("/training-assignments?limit=2{separator}{query}");
    for _ in 0..50 {
        let page = api.get(&path, key).await.expect(200);
        for row in page["data"].as_array().unwrap() {
            let id = id_of(row);
            assert!(!ids.contains(&id), "{query}: {id} twice");
            ids.push(id);
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/training-assignments?limit=2{separator}{query}&cursor={cursor}"),
            None => return ids,
        }
    }
    panic!("{query}: more than 50 pages");
}

#[tokio::test]
async fn each_filter_and_sort_answers_exactly_the_rows_computed_independently_on_every_page() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let mut users = vec![p.user.clone()];
    for name in ["Uma", "Vic"] {
        users.push(api.create_user(&p.org, &format!("{name}@utility.example"), name).await);
    }
    let no_expiry = api
        .post(
            "/training-modules",
            key,
            json!({ "title": "Physical Security Controls" }),
        )
        .await
        .expect(201);
    let modules = [p.module.clone(), id_of(&no_expiry)];
    let facilities = [p.alpha.clone(), p.beta.clone()];
    let completions = [
        (3, "2025-03-01T10:00:00Z"),
        (4, "2025-01-15T08:00:00Z"),
        (8, "2025-05-20T12:30:00Z"),
        (10, "2025-02-10T09:00:00Z"),
    ];

    let mut known: Vec<Known> = Vec::new();
    for index in 0..12usize {
        let due = match index {
            1 => "2025-06-12".to_string(),
            7 => "2025-06-01".to_string(),
            _ => due_in(u32::try_from(5 + (index * 7) % 20).unwrap()),
        };
        let scope: Vec<usize> = match index % 4 {
            0 => vec![0],
            1 => vec![0, 1],
            _ => vec![],
        };
        let created = api
            .post(
                "/training-assignments",
                key,
                json!({
                    "userId": users[index % 3],
                    "trainingModuleId": modules[index % 2],
                    "dueDate": due,
                    "facilityIds": scope.iter().map(|f| facilities[*f].clone()).collect::<Vec<_>>(),
                }),
            )
            .await
            .expect(201);
        let id = id_of(&created);
        let mut row = Known {
            id: id.clone(),
            user: index % 3,
            module: index % 2,
            facilities: scope,
            status: if matches!(index, 1 | 7) { "overdue" } else { "assigned" },
            due,
            completed_at: None,
            expires_at: None,
        };
        if let Some((_, at)) = completions.iter().find(|(i, _)| *i == index) {
            api.post(
                &format!("/training-assignments/{id}/complete"),
                key,
                json!({ "completedAt": at }),
            )
            .await
            .expect(200);
            row.status = "complete";
            row.completed_at = Some(millis(at));
            // Module 0 counts a completion for 365 days; module 1 forever.
            row.expires_at = (row.module == 0).then(|| Timestamp::parse("t", at).unwrap().plus_days(365).millis());
        }
        if matches!(index, 5 | 9) {
            api.post(&format!("/training-assignments/{id}/start"), key, json!({}))
                .await
                .expect(200);
            row.status = "in_progress";
        }
        if index == 6 {
            api.post(
                &format!("/training-assignments/{id}/waive"),
                key,
                json!({ "reason": "Role changed" }),
            )
            .await
            .expect(200);
            row.status = "waived";
        }
        known.push(row);
    }

    let by_creation = |rows: Vec<&Known>| -> Vec<String> { rows.into_iter().map(|row| row.id.clone()).collect() };
    let ordered = |mut rows: Vec<&Known>, key: &dyn Fn(&Known) -> (String, usize)| -> Vec<String> {
        let position = |row: &Known| known.iter().position(|k| k.id == row.id).unwrap();
        rows.sort_by_key(|row| {
            let (sort, _) = key(row);
            (sort, position(row))
        });
        rows.into_iter().map(|row| row.id.clone()).collect()
    };
    let due_key = |row: &Known| (row.due.clone(), 0);
    let completed_key = |row: &Known| (format!("{:015}", row.completed_at.unwrap()), 0);
    let expires_key = |row: &Known| (format!("{:015}", row.expires_at.unwrap()), 0);
    let reversed = |mut ids: Vec<String>| {
        ids.reverse();
        ids
    };
    let all: Vec<&Known> = known.iter().collect();
    let select = |keep: &dyn Fn(&Known) -> bool| -> Vec<&Known> { known.iter().filter(|row| keep(row)).collect() };
    let due_bound = due_in(12);
    let cases: Vec<(String, Vec<String>)> = vec![
        (String::new(), by_creation(all.clone())),
        ("sort=-createdAt".into(), reversed(by_creation(all.clone()))),
        (
            format!("userId={}", users[1]),
            by_creation(select(&|row| row.user == 1)),
        ),
        (
            format!("moduleId={}", modules[0]),
            by_creation(select(&|row| row.module == 0)),
        ),
        (
            format!("facilityId={}", facilities[0]),
            by_creation(select(&|row| row.facilities.contains(&0))),
        ),
        (
            format!("facilityId={}&sort=-createdAt", facilities[1]),
            reversed(by_creation(select(&|row| row.facilities.contains(&1)))),
        ),
        (
            "status=assigned".into(),
            by_creation(select(&|row| row.status == "assigned")),
        ),
        (
            "status=in_progress".into(),
            by_creation(select(&|row| row.status == "in_progress")),
        ),
        (
            "status=complete".into(),
            by_creation(select(&|row| row.status == "complete")),
        ),
        (
            "status=overdue".into(),
            by_creation(select(&|row| row.status == "overdue")),
        ),
        (
            "status=waived".into(),
            by_creation(select(&|row| row.status == "waived")),
        ),
        ("sort=dueDate".into(), ordered(all.clone(), &due_key)),
        ("sort=-dueDate".into(), reversed(ordered(all.clone(), &due_key))),
        (
            format!("dueBefore={due_bound}"),
            ordered(select(&|row| row.due < due_bound), &due_key),
        ),
        (
            "sort=completedAt".into(),
            ordered(select(&|row| row.completed_at.is_some()), &completed_key),
        ),
        (
            "completedAfter=2025-02-01T00:00:00Z&completedBefore=2025-05-20T12:30:00Z".into(),
            ordered(
                select(&|row| {
                    row.completed_at
                        .is_some_and(|at| at >= millis("2025-02-01T00:00:00Z") && at < millis("2025-05-20T12:30:00Z"))
                }),
                &completed_key,
            ),
        ),
        (
            "sort=-expiresAt".into(),
            reversed(ordered(select(&|row| row.expires_at.is_some()), &expires_key)),
        ),
        (
            "expiresBefore=2026-03-01T00:00:00Z".into(),
            ordered(
                select(&|row| row.expires_at.is_some_and(|at| at < millis("2026-03-01T00:00:00Z"))),
                &expires_key,
            ),
        ),
        // Combinations: one served by a key, the rest by a filter.
        (
            format!("userId={}&status=complete", users[0]),
            by_creation(select(&|row| row.user == 0 && row.status == "complete")),
        ),
        (
            format!("facilityId={}&status=overdue", facilities[0]),
            by_creation(select(&|row| row.facilities.contains(&0) && row.status == "overdue")),
        ),
        (
            format!("moduleId={}&sort=dueDate", modules[1]),
            ordered(select(&|row| row.module == 1), &due_key),
        ),
        (
            format!("facilityId={}&sort=-dueDate", facilities[1]),
            reversed(ordered(select(&|row| row.facilities.contains(&1)), &due_key)),
        ),
        (
            format!("status=complete&sort=completedAt&moduleId={}", modules[0]),
            ordered(
                select(&|row| row.status == "complete" && row.module == 0),
                &completed_key,
            ),
        ),
    ];
    for (query, expected) in cases {
        assert!(
            !expected.is_empty() || query.contains("in_progress"),
            "{query}: a case with no rows proves little"
        );
        assert_eq!(every_page(&api, key, &query).await, expected, "{query}");
    }
    // Every row of the list shows the status the test expects.
    let listed = api.get("/training-assignments?limit=100", key).await.expect(200);
    for (row, expected) in listed["data"].as_array().unwrap().iter().zip(&known) {
        assert_eq!(row["status"], expected.status, "{}", expected.id);
        assert_eq!(row["facilities"].as_array().unwrap().len(), expected.facilities.len());
    }
    for bad in [
        "status=late",
        "sort=title",
        "dueBefore=2025-13-01",
        "completedAfter=yesterday",
        "status=assigned&sort=completedAt",
        "userId=bob",
        "userId=",
        "team=blue",
    ] {
        api.get(&format!("/training-assignments?{bad}"), key)
            .await
            .expect_error(400, "validation_error");
    }
}

#[tokio::test]
async fn an_approver_cannot_waive_their_own_assignment_and_nothing_changes() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let org = &p.org;
    let own = api
        .post(
            "/training-assignments",
            &org.admin_key,
            json!({ "userId": org.admin_id.as_str(), "trainingModuleId": p.module, "dueDate": due_in(10) }),
        )
        .await
        .expect(201);
    let own_id = id_of(&own);
    let waiver_key = scoped_key(&api, org, &["training:waive"]).await;

    for key in [&waiver_key, &org.admin_key] {
        let refused = api
            .post(
                &format!("/training-assignments/{own_id}/waive"),
                key,
                json!({ "reason": "I already know this material" }),
            )
            .await
            .expect_error(403, "forbidden");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("someone else"), "{message}");
    }

    let read_back = api
        .get(&format!("/training-assignments/{own_id}"), &org.admin_key)
        .await
        .expect(200);
    assert_eq!(read_back, own);
    assert_eq!(read_back["status"], "assigned");
    assert!(read_back.get("waivedBy").is_none());
    let trail = api.audit_trail_of(org, &own_id).await;
    let actions: Vec<&str> = trail.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["training_assignment.created"]);
}

#[tokio::test]
async fn an_approver_can_still_waive_someone_elses_assignment() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let theirs = id_of(&assign(&api, &p, &due_in(10)).await);
    let waiver_key = scoped_key(&api, &p.org, &["training:waive"]).await;
    let waived = api
        .post(
            &format!("/training-assignments/{theirs}/waive"),
            &waiver_key,
            json!({ "reason": "Contractor left before access was granted" }),
        )
        .await
        .expect(200);
    assert_eq!(waived["status"], "waived");
    assert_eq!(waived["waivedBy"], p.org.admin_id.as_str());
    let read_back = api
        .get(&format!("/training-assignments/{theirs}"), &p.org.admin_key)
        .await
        .expect(200);
    assert_eq!(read_back["status"], "waived");
}

#[tokio::test]
async fn a_self_reported_completion_says_so_in_get_list_and_both_export_formats() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let admin = &p.org.admin_key;
    // The trainee's own LMS integration may record their completions.
    let role = api
        .post(
            "/roles",
            admin,
            json!({ "name": "Own LMS", "permissions": ["training:read", "training:write"] }),
        )
        .await
        .expect(201);
    let (trainee, trainee_key) = api
        .member_with_key(&p.org, "lms-self@utility.example", &[role["id"].as_str().unwrap()])
        .await;
    let assign_to = |user: String| {
        let api = &api;
        let module = p.module.clone();
        async move {
            let body = json!({ "userId": user, "trainingModuleId": module, "dueDate": due_in(10) });
            id_of(&api.post("/training-assignments", admin, body).await.expect(201))
        }
    };
    let by_self = assign_to(trainee.clone()).await;
    let by_admin = assign_to(p.user.clone()).await;
    let open = assign_to(p.user.clone()).await;

    let completed = api
        .post(
            &format!("/training-assignments/{by_self}/complete"),
            &trainee_key,
            json!({ "score": 90 }),
        )
        .await
        .expect(200);
    assert_eq!(completed["completedBy"], trainee.as_str());
    assert_eq!(completed["selfReported"], true);
    let completed = api
        .post(&format!("/training-assignments/{by_admin}/complete"), admin, json!({}))
        .await
        .expect(200);
    assert_eq!(completed["selfReported"], false);

    let expected = |id: &str| -> Option<bool> {
        if id == by_self {
            Some(true)
        } else if id == by_admin {
            Some(false)
        } else {
            None
        }
    };
    for id in [&by_self, &by_admin, &open] {
        let read = api.get(&format!("/training-assignments/{id}"), admin).await.expect(200);
        assert_eq!(read["selfReported"].as_bool(), expected(id), "{read}");
    }
    let listed = api.get("/training-assignments", admin).await.expect(200);
    let listed = listed["data"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for item in listed {
        assert_eq!(
            item["selfReported"].as_bool(),
            expected(item["id"].as_str().unwrap()),
            "{item}"
        );
    }
    let completed_audit = api.audit_trail_of(&p.org, &by_self).await;
    assert_eq!(completed_audit[0]["summary"]["selfReported"], true);

    let exported = api
        .get("/training-assignments/export?format=json", admin)
        .await
        .expect(200);
    let exported = exported.as_array().unwrap();
    assert_eq!(exported.len(), 3);
    for row in exported {
        assert_eq!(
            row["selfReported"].as_bool(),
            expected(row["id"].as_str().unwrap()),
            "{row}"
        );
    }

    let csv_file = api.get("/training-assignments/export", admin).await;
    assert_eq!(csv_file.status, 200);
    let mut reader = csv::Reader::from_reader(&csv_file.raw[..]);
    let header = reader.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|name| name == "selfReported")
        .expect("a selfReported column");
    let id_column = header.iter().position(|name| name == "id").unwrap();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let cell = match expected(&record[id_column]) {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        };
        assert_eq!(&record[column], cell, "{record:?}");
        rows += 1;
    }
    assert_eq!(rows, 3);
}
