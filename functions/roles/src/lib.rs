//! Roles: parse → authenticate → authorize → domain → response. Nothing else lives here.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::operations::{authentication, roles};
use raptor_shared::rest::{self, roles::RoleView};
use raptor_shared::routes::{self, Function, Operation, RolesOperation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Roles, request)?;
    let Operation::Roles(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        RolesOperation::ListRoles => {
            let page = query.page(principal.org(), "roles".into())?;
            Reply::ok(&rest::roles::list(store, &principal, &page).await?)
        }
        RolesOperation::CreateRole => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::created(&rest::roles::create(store, &principal, input).await?)
            })
            .await
        }
        RolesOperation::GetRole => Reply::ok(&RoleView::of(
            &roles::get_role(store, &principal, route.param("id")?).await?,
        )),
        RolesOperation::UpdateRole => {
            let input = http::json_body(request)?;
            Reply::ok(&rest::roles::update(store, &principal, route.param("id")?, input).await?)
        }
        RolesOperation::DeleteRole => Reply::ok(&RoleView::of(
            &roles::delete_role(store, &principal, route.param("id")?).await?,
        )),
    }
}
