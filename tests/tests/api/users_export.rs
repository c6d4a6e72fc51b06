//! `GET /users/export` (seed 003): CSV and JSON read back by a real CSV parser and compared
//! with the list endpoint; role names; formulas neutralised; gzip; the list's filters;
//! permission and tenancy; and an export too large for one response, fetched from S3.

use integration_tests::{TestApi, TestOrg, TestResponse};
use serde_json::{Value, json};

use crate::training_export::{csv_rows, gunzip};
use crate::training_program::scoped_key;

async fn export(api: &TestApi, key: &str, query: &str, gzip: bool) -> TestResponse {
    let path = format!("/users/export{query}");
    let headers: &[(&str, &str)] = if gzip { &[("Accept-Encoding", "gzip")] } else { &[] };
    api.call_with_headers("GET", &path, Some(key), None, headers).await
}

async fn list(api: &TestApi, org: &TestOrg, query: &str) -> Vec<Value> {
    let body = api
        .get(&format!("/users?limit=100{query}"), &org.admin_key)
        .await
        .expect(200);
    body["data"].as_array().unwrap().clone()
}

/// An organization with a custom role, a member whose text a spreadsheet would run or a
/// naive writer would split, one suspended and one deleted member.
struct People {
    org: TestOrg,
    role: String,
    tricky: String,
    deleted: String,
}

async fn people(api: &TestApi) -> People {
    let org = api.new_organization().await;
    let role = api
        .post(
            "/roles",
            &org.admin_key,
            json!({ "name": "Night, \"shift\" auditors", "permissions": ["users:read"] }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tricky = api
        .post(
            "/users",
            &org.admin_key,
            json!({
                "email": "zoe@utility.example",
                "displayName": "=SUM(A1) Zoë, \"Z\"",
                "title": "+Lead, substation",
                "externalId": "-42",
                "roles": ["developer", role],
            }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let suspended = api.create_user(&org, "sam@utility.example", "Sam Suspended").await;
    api.patch(
        &format!("/users/{suspended}"),
        &org.admin_key,
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    let deleted = api.create_user(&org, "dee@utility.example", "Dee Deleted").await;
    api.delete(&format!("/users/{deleted}"), &org.admin_key)
        .await
        .expect(200);
    People {
        org,
        role,
        tricky,
        deleted,
    }
}

#[tokio::test]
async fn csv_rows_read_back_as_the_list_shows_them_with_role_names_and_formulas_neutralised() {
    let api = TestApi::new().await;
    let p = people(&api).await;
    let answer = export(&api, &p.org.admin_key, "", false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "text/csv; charset=utf-8");
    let disposition = answer.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"users-"),
        "{disposition}"
    );
    let rows = csv_rows(&answer.raw);
    let listed = list(&api, &p.org, "").await;
    assert_eq!(
        rows.len(),
        3,
        "the admin, the tricky and the suspended member; not the deleted"
    );
    assert_eq!(answer.headers["x-export-rows"], "3");
    for (row, user) in rows.iter().zip(&listed) {
        assert_eq!(row["id"], user["id"]);
        assert_eq!(row["email"], user["email"]);
        assert_eq!(row["status"], user["status"]);
        assert_eq!(row["createdAt"], user["createdAt"]);
    }
    let tricky = rows.iter().find(|row| row["id"] == p.tricky.as_str()).unwrap();
    assert_eq!(tricky["displayName"], "'=SUM(A1) Zoë, \"Z\"");
    assert_eq!(tricky["title"], "'+Lead, substation");
    assert_eq!(tricky["externalId"], "'-42");
    assert_eq!(tricky["roles"], format!("developer; {}", p.role).as_str());
    assert_eq!(tricky["roleNames"], "developer; Night, \"shift\" auditors");
    assert_eq!(tricky["deletedAt"], "");
}

#[tokio::test]
async fn json_is_the_list_objects_with_role_names_and_the_filters_apply() {
    let api = TestApi::new().await;
    let p = people(&api).await;
    let key = &p.org.admin_key;
    let answer = export(&api, key, "?format=json", false).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    let exported = answer.body.as_array().unwrap().clone();
    let listed = list(&api, &p.org, "").await;
    assert_eq!(exported.len(), listed.len());
    for (object, user) in exported.iter().zip(&listed) {
        let mut without_names = object.clone();
        let names = without_names.as_object_mut().unwrap().remove("roleNames").unwrap();
        assert_eq!(&without_names, user, "the list's object, and only roleNames besides");
        assert_eq!(names.as_array().unwrap().len(), user["roles"].as_array().unwrap().len());
    }

    // The list's filters, each as the list applies it.
    for query in [
        "status=deleted",
        "status=suspended",
        &format!("role={}", p.role),
        "role=admin",
    ] {
        let exported = export(&api, key, &format!("?format=json&{query}"), false)
            .await
            .expect(200);
        let ids: Vec<&Value> = exported.as_array().unwrap().iter().map(|user| &user["id"]).collect();
        let listed = list(&api, &p.org, &format!("&{query}")).await;
        let listed_ids: Vec<&Value> = listed.iter().map(|user| &user["id"]).collect();
        assert_eq!(ids, listed_ids, "{query}");
        assert_eq!(ids.len(), 1, "{query}");
    }
    let deleted = export(&api, key, "?status=deleted", false).await;
    assert_eq!(csv_rows(&deleted.raw)[0]["id"], p.deleted.as_str());
    assert_ne!(csv_rows(&deleted.raw)[0]["deletedAt"], "");

    // gzip when asked, the same file.
    let zipped = export(&api, key, "", true).await;
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert_eq!(
        csv_rows(&gunzip(&zipped.raw)),
        csv_rows(&export(&api, key, "", false).await.raw)
    );

    export(&api, key, "?format=xlsx", false)
        .await
        .expect_error(400, "validation_error");
    export(&api, key, "?status=gone", false)
        .await
        .expect_error(400, "validation_error");
}

#[tokio::test]
async fn another_tenant_exports_none_of_my_people_and_a_key_without_users_read_is_refused() {
    let api = TestApi::new().await;
    let mine = people(&api).await;
    let other = api.new_organization().await;
    let theirs = csv_rows(&export(&api, &other.admin_key, "?status=deleted", false).await.raw);
    assert!(theirs.is_empty());
    let all_theirs = csv_rows(&export(&api, &other.admin_key, "", false).await.raw);
    assert_eq!(all_theirs.len(), 1, "their admin alone");
    assert_eq!(all_theirs[0]["id"], other.admin_id.as_str());
    // My role's id names nothing in their organization.
    let probing = export(&api, &other.admin_key, &format!("?role={}", mine.role), false).await;
    assert_eq!(probing.status, 200);
    assert!(csv_rows(&probing.raw).is_empty());
    let training_only = scoped_key(&api, &mine.org, &["training:read"]).await;
    export(&api, &training_only, "", false)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_users_export_too_large_for_one_response_is_a_presigned_s3_link_to_the_same_file() {
    let api = TestApi::new().await.with_inline_export_limit(300);
    let p = people(&api).await;
    let answer = export(&api, &p.org.admin_key, "", false).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let link = answer.headers["location"].to_str().unwrap().to_string();
    assert_eq!(answer.body["rows"], 3);
    assert!(link.contains(&format!("/exports/{}/", p.org.id)), "{link}");
    let mut fetched = ureq::get(&link).call().expect("the presigned link answers");
    let bytes = fetched.body_mut().read_to_vec().unwrap();
    assert_eq!(answer.body["bytes"], bytes.len());
    let ids: Vec<Value> = csv_rows(&bytes).iter().map(|row| row["id"].clone()).collect();
    let listed: Vec<Value> = list(&api, &p.org, "")
        .await
        .iter()
        .map(|user| user["id"].clone())
        .collect();
    assert_eq!(ids, listed);
}
