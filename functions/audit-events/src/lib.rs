//! Audit events: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::model::audit::AuditFilter;
use raptor_shared::operations::audit_events;
use raptor_shared::operations::authentication;
use raptor_shared::routes::{self, AuditEventsOperation, Function, Operation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::AuditEvents, request)?;
    let Operation::AuditEvents(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        AuditEventsOperation::ListAuditEvents => {
            let filter = AuditFilter::parse(
                query.non_empty("targetId")?,
                query.non_empty("actorId")?,
                query.non_empty("from")?,
                query.non_empty("to")?,
            )?;
            let page = query.page(principal.org(), filter.fingerprint())?;
            Reply::ok(&audit_events::list_audit_events(store, &principal, &filter, &page).await?)
        }
    }
}
