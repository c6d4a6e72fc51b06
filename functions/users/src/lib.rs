//! Users: parse → authenticate → authorize → domain → response. Nothing else lives here.

use lambda_http::{Body, Request, Response};
use raptor_shared::api_reference;
use raptor_shared::app::ExportingApp;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{FacilityId, UserId};
use raptor_shared::model::roles::RoleRef;
use raptor_shared::model::users::UserFilter;
use raptor_shared::operations::{authentication, users};
use raptor_shared::rest;
use raptor_shared::rest::exports::{self, ExportFile, ExportFormat};
use raptor_shared::rest::users::UserView;
use raptor_shared::rest::users_export;
use raptor_shared::routes::{self, Function, Operation, UsersOperation};

pub async fn handle(exporting: &ExportingApp, request: Request) -> Response<Body> {
    http::respond(dispatch(exporting, &request).await)
}

async fn dispatch(exporting: &ExportingApp, request: &Request) -> ApiResult<Reply> {
    let app = &exporting.app;
    let route = routes::match_request(Function::Users, request)?;
    let Operation::Users(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    // The public documents need no key: a client generator or a browser has none.
    let document = match operation {
        UsersOperation::GetOpenApiDocument => Some(Reply {
            status: 200,
            content_type: "application/json",
            headers: Vec::new(),
            body: raptor_shared::openapi::DOCUMENT.to_string(),
            bytes: None,
        }),
        UsersOperation::GetApiReference => Some(api_reference::page()),
        UsersOperation::GetApiReferenceScript => Some(api_reference::script()),
        _ => None,
    };
    if let Some(document) = document {
        route.query(request)?;
        return Ok(document);
    }
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        UsersOperation::ListUsers => {
            let filter = UserFilter::parse(query.non_empty("status")?, query.non_empty("role")?)?;
            let page = query.page(principal.org(), filter.fingerprint())?;
            Reply::ok(&rest::users::list(store, &principal, &filter, &page).await?)
        }
        UsersOperation::ExportUsers => {
            let filter = UserFilter::parse(query.non_empty("status")?, query.non_empty("role")?)?;
            let file = ExportFile {
                stem: users_export::FILE_STEM,
                format: ExportFormat::parse(query.non_empty("format")?)?,
                gzip: http::accepts_gzip(request),
            };
            let settings = exporting.export_settings();
            let export = users_export::export_users(store, &principal, filter, file, &settings).await?;
            exports::reply(export, file)
        }
        UsersOperation::CreateUser => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::created(&rest::users::create(store, &principal, input).await?)
            })
            .await
        }
        UsersOperation::GetCurrentUser => Reply::ok(&UserView::of(principal.acting_member()?, &principal.roles)),
        UsersOperation::GetOpenApiDocument
        | UsersOperation::GetApiReference
        | UsersOperation::GetApiReferenceScript => {
            Err(ApiError::internal("a public route served after authentication"))
        }
        UsersOperation::GetMyOrganizations => {
            let organizations = rest::users::my_organizations(store, &principal).await?;
            Reply::ok(&serde_json::json!({ "data": organizations, "nextCursor": null }))
        }
        UsersOperation::CheckAccess => Reply::ok(&rest::users::check_access(&principal, query.get("permission"))?),
        UsersOperation::GetUser => {
            let id = UserId::parse("id", route.param("id")?)?;
            Reply::ok(&UserView::of(
                &users::read_member(store, &principal, &id).await?,
                &principal.roles,
            ))
        }
        UsersOperation::UpdateUser => {
            let id = UserId::parse("id", route.param("id")?)?;
            let input = http::json_body(request)?;
            Reply::ok(&rest::users::update(store, &principal, &id, input).await?)
        }
        UsersOperation::DeleteUser => {
            let id = UserId::parse("id", route.param("id")?)?;
            Reply::ok(&UserView::of(
                &users::delete_member(store, &principal, &id).await?,
                &principal.roles,
            ))
        }
        UsersOperation::AssignRoleToUser => {
            idempotency::for_caller(store, request, &principal, async {
                let id = UserId::parse("id", route.param("id")?)?;
                let input = http::json_body(request)?;
                Reply::ok(&rest::users::assign_role(store, &principal, &id, input).await?)
            })
            .await
        }
        UsersOperation::GetUserFacilities => {
            let id = UserId::parse("id", route.param("id")?)?;
            Reply::ok(&rest::users::facilities(store, &principal, &id).await?)
        }
        UsersOperation::AddFacilitiesToUser => {
            idempotency::for_caller(store, request, &principal, async {
                let id = UserId::parse("id", route.param("id")?)?;
                let input = http::json_body(request)?;
                Reply::ok(&rest::users::add_facilities(store, &principal, &id, input).await?)
            })
            .await
        }
        UsersOperation::RemoveFacilityFromUser => {
            let id = UserId::parse("id", route.param("id")?)?;
            let facility = FacilityId::parse("facilityId", route.param("facilityId")?)?;
            Reply::ok(&rest::users::remove_facility(store, &principal, &id, facility).await?)
        }
        UsersOperation::RemoveRoleFromUser => {
            let id = UserId::parse("id", route.param("id")?)?;
            let role = RoleRef::parse("roleId", route.param("roleId")?)?;
            Reply::ok(&rest::users::remove_role(store, &principal, &id, role).await?)
        }
    }
}
