//! CIP Senior Manager: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::CsmAssignmentId;
use raptor_shared::operations::cip_senior_manager as csm;
use raptor_shared::rest::{self, cip_senior_manager::CsmAssignmentView};
use raptor_shared::routes::{self, CipSeniorManagerOperation, Function, Operation};
use raptor_shared::time::Date;

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::CipSeniorManager, request)?;
    let Operation::CipSeniorManager(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = raptor_shared::operations::authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        CipSeniorManagerOperation::GetCurrentCipSeniorManager => {
            let as_of = query.get("asOf").map(|text| Date::parse("asOf", text)).transpose()?;
            Reply::ok(&CsmAssignmentView::of_designation(
                &csm::current(store, &principal, as_of).await?,
            ))
        }
        CipSeniorManagerOperation::ListCipSeniorManagerAssignments => {
            let page = query.page(principal.org(), "cip-senior-manager-assignments".into())?;
            Reply::ok(&rest::cip_senior_manager::list(store, &principal, &page).await?)
        }
        CipSeniorManagerOperation::CreateCipSeniorManagerAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::created(&rest::cip_senior_manager::designate(store, &principal, input).await?)
            })
            .await
        }
        CipSeniorManagerOperation::GetCipSeniorManagerAssignment => {
            let id = CsmAssignmentId::parse("id", route.param("id")?)?;
            Reply::ok(&CsmAssignmentView::of(
                &csm::get_assignment(store, &principal, &id).await?,
            ))
        }
        CipSeniorManagerOperation::UpdateCipSeniorManagerAssignment => {
            let id = CsmAssignmentId::parse("id", route.param("id")?)?;
            let input = http::json_body(request)?;
            Reply::ok(&rest::cip_senior_manager::correct(store, &principal, &id, input).await?)
        }
    }
}
