//! `GET /training-assignments/export`: CSV and JSON with tricky text, read back by a real
//! CSV parser and compared with the list endpoint; gzip; the list's filters; and an export
//! too large for one response, fetched from S3 through its presigned link.

use std::io::Read;

use integration_tests::{TestApi, TestResponse};
use serde_json::{Map, Value, json};

use crate::training_program::{Program, due_in, id_of, program, scoped_key};

/// Text a spreadsheet or a naive CSV writer gets wrong.
const FORMULA_NOTES: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
const COMMA_NOTES: &str = "Annual, \"refresher\"; see HR, ticket 42";

async fn export(api: &TestApi, key: &str, query: &str, gzip: bool) -> TestResponse {
    let path = format!("/training-assignments/export{query}");
    let headers: &[(&str, &str)] = if gzip {
        &[("Accept-Encoding", "gzip, deflate")]
    } else {
        &[]
    };
    api.call_with_headers("GET", &path, Some(key), None, headers).await
}

pub(crate) fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// The rows of a CSV file as header → cell maps, through the `csv` crate.
pub(crate) fn csv_rows(bytes: &[u8]) -> Vec<Map<String, Value>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    reader
        .records()
        .map(|record| {
            let record = record.expect("an RFC 4180 record");
            header
                .iter()
                .zip(record.iter())
                .map(|(name, cell)| (name.clone(), Value::String(cell.to_string())))
                .collect()
        })
        .collect()
}

async fn list(api: &TestApi, key: &str, query: &str) -> Vec<Value> {
    let body = api
        .get(&format!("/training-assignments?limit=100{query}"), key)
        .await
        .expect(200);
    body["data"].as_array().unwrap().clone()
}

/// A program whose text needs quoting and neutralising: a non-ASCII person and facility,
/// notes with commas, quotes and a leading `=`, a completion and a waiver.
async fn tricky_program(api: &TestApi) -> (Program, String) {
    let p = program(api).await;
    let key = &p.org.admin_key;
    let person = api
        .create_user(&p.org, "jose@utility.example", "José Ñúñez-O'Brien, Jr.")
        .await;
    let station = api
        .post("/facilities", key, json!({ "name": "Subestación \"Norte\", Nº 3" }))
        .await
        .expect(201);
    let station = id_of(&station);
    let rows = [
        json!({ "userId": person, "trainingModuleId": p.module, "dueDate": due_in(30), "notes": FORMULA_NOTES, "facilityIds": [station, p.alpha] }),
        json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(10), "notes": COMMA_NOTES }),
        json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(5), "notes": "-5 days late @ substation" }),
    ];
    let mut ids = Vec::new();
    for row in rows {
        ids.push(id_of(&api.post("/training-assignments", key, row).await.expect(201)));
    }
    api.post(
        &format!("/training-assignments/{}/complete", ids[1]),
        key,
        json!({ "score": 88, "certificateReference": "+LMS-7781" }),
    )
    .await
    .expect(200);
    api.post(
        &format!("/training-assignments/{}/waive", ids[2]),
        key,
        json!({ "reason": "Role ends, \"no access\" granted" }),
    )
    .await
    .expect(200);
    (p, person)
}

#[tokio::test]
async fn csv_rows_read_back_as_the_list_shows_them_with_formulas_neutralised() {
    let api = TestApi::new().await;
    let (p, person) = tricky_program(&api).await;
    let key = &p.org.admin_key;
    let answer = export(&api, key, "", false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "text/csv; charset=utf-8");
    let today = raptor_shared::time::Date::today();
    assert_eq!(
        answer.headers["content-disposition"],
        format!("attachment; filename=\"training-assignments-{today}.csv\"").as_str()
    );
    assert_eq!(answer.headers["x-export-rows"], "3");
    let rows = csv_rows(&answer.raw);
    let listed = list(&api, key, "").await;
    assert_eq!(rows.len(), listed.len());
    for (row, item) in rows.iter().zip(&listed) {
        assert_eq!(row["id"], item["id"]);
        assert_eq!(row["userId"], item["userId"]);
        assert_eq!(row["status"], item["status"]);
        assert_eq!(row["dueDate"], item["dueDate"]);
        assert_eq!(row["createdAt"], item["createdAt"]);
        assert_eq!(row["moduleTitle"], "CIP-004 Cyber Security Awareness Training");
        assert_eq!(row["cipStandard"], "CIP-004");
        let names: Vec<&str> = item["facilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(row["facilityNames"], names.join("; ").as_str());
    }
    let of = |id: &Value| rows.iter().find(|row| &row["id"] == id).unwrap();
    let first = of(&listed[0]["id"]);
    assert_eq!(first["userId"], person.as_str());
    assert_eq!(first["userName"], "José Ñúñez-O'Brien, Jr.");
    assert_eq!(first["userEmail"], "jose@utility.example");
    assert_eq!(first["notes"], format!("'{FORMULA_NOTES}").as_str());
    assert_eq!(first["facilityNames"], "Subestación \"Norte\", Nº 3; Substation Alpha");
    let completed = of(&listed[1]["id"]);
    assert_eq!(completed["notes"], COMMA_NOTES);
    assert_eq!(completed["score"], "88");
    assert_eq!(completed["certificateReference"], "'+LMS-7781");
    assert_eq!(completed["completedAt"], listed[1]["completedAt"]);
    assert_eq!(completed["expiresAt"], listed[1]["expiresAt"]);
    let waived = of(&listed[2]["id"]);
    assert_eq!(waived["notes"], "'-5 days late @ substation");
    assert_eq!(waived["waiverReason"], "Role ends, \"no access\" granted");
    assert_eq!(waived["waivedBy"], listed[2]["waivedBy"]);
    // No cell of the file starts a formula.
    for row in &rows {
        for cell in row.values() {
            assert!(!cell.as_str().unwrap().starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }

    // gzip: the same bytes, compressed.
    let zipped = export(&api, key, "", true).await;
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert_eq!(zipped.headers["vary"], "Accept-Encoding");
    assert_eq!(gunzip(&zipped.raw), answer.raw);
    let refused_gzip = api
        .call_with_headers(
            "GET",
            "/training-assignments/export",
            Some(key),
            None,
            &[("Accept-Encoding", "gzip;q=0, identity")],
        )
        .await;
    assert!(refused_gzip.headers.get("content-encoding").is_none());
}

/// Free text over several lines, with a tab, a blank line and a CR LF.
const TWO_LINE_NOTES: &str = "Annual refresher:\tsee HR ticket 42\nSecond line, \"quoted\"";
const REWRITTEN_NOTES: &str = "Moved to the spring session.\r\n\r\n\tRoom 2, badge required";
const MULTI_LINE_REASON: &str = "Role ends 2025-06-30.\n\tNo BES Cyber System access is granted.";

#[tokio::test]
async fn a_two_line_note_round_trips_through_the_store_and_the_csv_export() {
    let api = TestApi::new().await;
    let p = program(&api).await;
    let key = &p.org.admin_key;
    let created = api
        .post(
            "/training-assignments",
            key,
            json!({ "userId": p.user, "trainingModuleId": p.module, "dueDate": due_in(30), "notes": TWO_LINE_NOTES }),
        )
        .await
        .expect(201);
    assert_eq!(created["notes"], TWO_LINE_NOTES);
    let id = id_of(&created);
    let path = format!("/training-assignments/{id}");
    assert_eq!(api.get(&path, key).await.expect(200)["notes"], TWO_LINE_NOTES);
    let stored = raptor_shared::store::training_assignments::get(
        api.store(),
        &p.org.id,
        &raptor_shared::ids::TrainingAssignmentId::parse("id", &id).unwrap(),
    )
    .await
    .unwrap()
    .expect("the assignment is stored");
    assert_eq!(stored.notes.as_deref(), Some(TWO_LINE_NOTES));

    let patched = api
        .patch(&path, key, json!({ "notes": REWRITTEN_NOTES }))
        .await
        .expect(200);
    assert_eq!(patched["notes"], REWRITTEN_NOTES);
    let waived = api
        .post(&format!("{path}/waive"), key, json!({ "reason": MULTI_LINE_REASON }))
        .await
        .expect(200);
    assert_eq!(waived["waiverReason"], MULTI_LINE_REASON);
    let read_back = api.get(&path, key).await.expect(200);
    assert_eq!(read_back["notes"], REWRITTEN_NOTES);
    assert_eq!(read_back["waiverReason"], MULTI_LINE_REASON);

    let answer = export(&api, key, "?format=csv", false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The line breaks are inside one quoted cell each: one header line, one record.
    let text = String::from_utf8(answer.raw.clone()).unwrap();
    assert!(
        text.contains("\"Moved to the spring session.\r\n\r\n\tRoom 2, badge required\""),
        "{text}"
    );
    let rows = csv_rows(&answer.raw);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["notes"], REWRITTEN_NOTES);
    assert_eq!(rows[0]["waiverReason"], MULTI_LINE_REASON);
    assert_eq!(rows[0]["status"], "waived");
}

#[tokio::test]
async fn json_is_the_list_objects_with_names_and_the_filters_apply() {
    let api = TestApi::new().await;
    let (p, person) = tricky_program(&api).await;
    let key = &p.org.admin_key;
    for query in ["", "&status=waived", &format!("&userId={person}"), "&sort=-dueDate"] {
        let export_query = format!("?format=json{query}");
        let answer = export(&api, key, &export_query, true).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["content-type"], "application/json");
        let exported: Vec<Value> = serde_json::from_slice(&gunzip(&answer.raw)).unwrap();
        let listed = list(&api, key, query).await;
        assert_eq!(exported.len(), listed.len(), "{query}");
        assert!(!listed.is_empty(), "{query}");
        for (mut row, item) in exported.into_iter().zip(listed) {
            let names = row.as_object_mut().unwrap();
            assert_eq!(
                names.remove("moduleTitle").unwrap(),
                "CIP-004 Cyber Security Awareness Training"
            );
            assert!(
                names
                    .remove("userEmail")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .ends_with("@utility.example")
            );
            names.remove("userName").unwrap();
            names.remove("cipStandard").unwrap();
            assert_eq!(row, item, "{query}");
        }
    }
    let waived_csv = csv_rows(&export(&api, key, "?status=waived", false).await.raw);
    assert_eq!(waived_csv.len(), 1);
    assert_eq!(waived_csv[0]["status"], "waived");
    // Bad parameters are the list's 400s.
    for bad in ["?format=xlsx", "?status=done", "?dueBefore=2025-13-01", "?limit=5"] {
        export(&api, key, bad, false)
            .await
            .expect_error(400, "validation_error");
    }
}

#[tokio::test]
async fn another_tenant_exports_none_of_my_rows_and_a_key_without_training_read_is_refused() {
    let api = TestApi::new().await;
    let (p, _) = tricky_program(&api).await;
    let other = program(&api).await;
    let theirs = csv_rows(&export(&api, &other.org.admin_key, "", false).await.raw);
    assert!(theirs.is_empty());
    // Filtering by my person from their organization finds nothing either.
    let probing = export(&api, &other.org.admin_key, &format!("?userId={}", p.user), false).await;
    assert_eq!(probing.status, 200);
    assert!(csv_rows(&probing.raw).is_empty());
    let scoped = scoped_key(&api, &p.org, &["users:read"]).await;
    export(&api, &scoped, "", false).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn an_export_too_large_for_one_response_is_a_presigned_s3_link_to_the_same_file() {
    // A 300-byte response limit stands in for Lambda's 6 MB: the same path, without 100,000 rows.
    let api = TestApi::new().await.with_inline_export_limit(300);
    let (p, _) = tricky_program(&api).await;
    let key = &p.org.admin_key;
    for gzip in [false, true] {
        let answer = export(&api, key, "", gzip).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        let link = answer.headers["location"].to_str().unwrap().to_string();
        assert_eq!(answer.body["downloadUrl"], link.as_str());
        assert_eq!(answer.body["rows"], 3);
        assert_eq!(answer.body["expiresInSeconds"], 900);
        assert!(link.contains(&format!("/exports/{}/", p.org.id)), "{link}");
        let mut fetched = ureq::get(&link).call().expect("the presigned link answers");
        let headers = fetched.headers().clone();
        let bytes = fetched.body_mut().read_to_vec().unwrap();
        assert_eq!(answer.body["bytes"], bytes.len());
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=")
        );
        let csv = if gzip {
            assert_eq!(headers["content-encoding"], "gzip");
            gunzip(&bytes)
        } else {
            assert!(headers.get("content-encoding").is_none());
            bytes
        };
        let rows = csv_rows(&csv);
        let listed = list(&api, key, "").await;
        let ids: Vec<&Value> = rows.iter().map(|row| &row["id"]).collect();
        let listed_ids: Vec<&Value> = listed.iter().map(|item| &item["id"]).collect();
        assert_eq!(ids, listed_ids);
    }
}

/// DynamoDB reads at most 100 keys in one BatchGetItem: the export reads a facility's links
/// a thousand at a time, and the assignments they name in batches of a hundred.
#[tokio::test]
async fn an_export_scoped_to_a_facility_with_more_than_a_hundred_assignments_has_every_one() {
    use raptor_shared::ids::{FacilityId, TrainingModuleId, UserId};
    use raptor_shared::model::training_assignments::{NewAssignment, new_assignment};
    use raptor_shared::store::training_assignments::import_batch;
    use raptor_shared::time::{Date, Timestamp};

    let api = TestApi::new().await;
    let p = program(&api).await;
    let seeded: Vec<_> = (0..150)
        .map(|_| {
            new_assignment(
                &p.org.id,
                NewAssignment {
                    user_id: UserId::parse("userId", &p.user).unwrap(),
                    training_module_id: TrainingModuleId::parse("trainingModuleId", &p.module).unwrap(),
                    due_date: Date::parse("dueDate", "2030-01-01").unwrap(),
                    notes: None,
                    facility_ids: vec![FacilityId::parse("facilityId", &p.alpha).unwrap()],
                },
                &p.org.admin_id,
                Timestamp::now(),
            )
        })
        .collect();
    import_batch(api.store(), &seeded).await.expect("seeded");

    let answer = export(
        &api,
        &p.org.admin_key,
        &format!("?format=json&facilityId={}", p.alpha),
        false,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut exported: Vec<String> = answer.body.as_array().unwrap().iter().map(id_of).collect();
    let mut expected: Vec<String> = seeded.iter().map(|a| a.id.to_string()).collect();
    exported.sort();
    expected.sort();
    assert_eq!(exported, expected);
}

/// A member whose only role is a custom role granting `permissions`, and a key acting as them.
async fn key_with_custom_role(api: &TestApi, p: &Program, email: &str, permissions: &[&str]) -> String {
    let role = api
        .post(
            "/roles",
            &p.org.admin_key,
            json!({ "name": format!("LMS integration {email}"), "permissions": permissions }),
        )
        .await
        .expect(201);
    let (_, key) = api
        .member_with_key(&p.org, email, &[role["id"].as_str().unwrap()])
        .await;
    key
}

#[tokio::test]
async fn training_read_alone_exports_ids_without_names_or_emails_in_csv_and_json() {
    let api = TestApi::new().await;
    let (p, person) = tricky_program(&api).await;
    let lms = key_with_custom_role(&api, &p, "lms@utility.example", &["training:read"]).await;
    // The same key may not list the people either.
    api.get("/users", &lms).await.expect_error(403, "forbidden");

    let answer = export(&api, &lms, "", false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut reader = csv::Reader::from_reader(&answer.raw[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert!(header.contains(&"userId".to_string()), "{header:?}");
    for column in ["userName", "userEmail"] {
        assert!(!header.contains(&column.to_string()), "{column} in {header:?}");
    }
    let rows = csv_rows(&answer.raw);
    let listed = list(&api, &p.org.admin_key, "").await;
    assert_eq!(rows.len(), listed.len());
    for (row, item) in rows.iter().zip(&listed) {
        assert_eq!(row["userId"], item["userId"]);
        assert_eq!(row["moduleTitle"], "CIP-004 Cyber Security Awareness Training");
        assert!(!row.contains_key("userName") && !row.contains_key("userEmail"));
    }
    let file = String::from_utf8(answer.raw.clone()).unwrap();
    for secret in [
        "José",
        "jose@utility.example",
        "Terry Trainee",
        "trainee@utility.example",
    ] {
        assert!(!file.contains(secret), "{secret} is in the file");
    }

    let answer = export(&api, &lms, "?format=json", true).await;
    assert_eq!(answer.status, 200);
    let exported: Vec<Value> = serde_json::from_slice(&gunzip(&answer.raw)).unwrap();
    assert_eq!(exported.len(), listed.len());
    assert!(exported.iter().any(|row| row["userId"] == person.as_str()));
    for (row, item) in exported.iter().zip(&listed) {
        let object = row.as_object().unwrap();
        assert!(
            !object.contains_key("userName") && !object.contains_key("userEmail"),
            "{row}"
        );
        assert_eq!(row["userId"], item["userId"]);
        assert_eq!(row["cipStandard"], "CIP-004");
    }
}

#[tokio::test]
async fn training_read_with_users_read_exports_names_and_emails_in_csv_and_json() {
    let api = TestApi::new().await;
    let (p, person) = tricky_program(&api).await;
    let reviewer = key_with_custom_role(&api, &p, "reviewer@utility.example", &["training:read", "users:read"]).await;

    let answer = export(&api, &reviewer, &format!("?userId={person}"), false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut reader = csv::Reader::from_reader(&answer.raw[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header,
        raptor_shared::rest::training_export::CSV_HEADER
            .iter()
            .map(|column| column.to_string())
            .collect::<Vec<_>>()
    );
    let rows = csv_rows(&answer.raw);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["userName"], "José Ñúñez-O'Brien, Jr.");
    assert_eq!(rows[0]["userEmail"], "jose@utility.example");

    let answer = export(&api, &reviewer, "?format=json", false).await;
    let exported = answer.expect(200);
    let exported = exported.as_array().unwrap();
    assert_eq!(exported.len(), 3);
    for row in exported {
        let expected_email = if row["userId"] == person.as_str() {
            "jose@utility.example"
        } else {
            "trainee@utility.example"
        };
        assert_eq!(row["userEmail"], expected_email, "{row}");
        assert!(!row["userName"].as_str().unwrap().is_empty(), "{row}");
    }
}
