//! The xAPI door: parse → authenticate → authorize → command → an LRS's answer.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::model::lms_statements::StatementId;
use raptor_shared::operations::authentication::authenticate;
use raptor_shared::operations::lms_statements;
use raptor_shared::routes::{self, Function, Operation, XapiOperation as Op};
use raptor_shared::xapi::{self, StatementResult};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let mut response = http::respond(dispatch(app, &request).await);
    response.headers_mut().insert(
        xapi::VERSION_HEADER,
        lambda_http::http::HeaderValue::from_static(xapi::VERSION),
    );
    response
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Xapi, request)?;
    let Operation::Xapi(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    if operation == Op::GetAbout {
        return Reply::ok(&xapi::About::now());
    }
    let store = &app.store;
    let principal = authenticate(store, xapi::presented_key(request)?.as_deref()).await?;
    xapi::check_version(request)?;
    let query = route.query(request)?;
    match operation {
        Op::PostStatements => {
            let reports = xapi::statements_of_post(http::utf8_body(request)?, store.clock().now())?;
            let mut ids = Vec::with_capacity(reports.len());
            for report in reports {
                // Boxed: the command's future is large, and a batch awaits it in a loop.
                ids.push(
                    Box::pin(lms_statements::record_statement(store, &principal, report))
                        .await?
                        .id,
                );
            }
            Reply::ok(&ids)
        }
        Op::PutStatement => {
            let Some(id) = query.non_empty("statementId")? else {
                return Err(ApiError::validation("statementId", "`statementId` is required"));
            };
            let report = xapi::statement_of_put(id, http::utf8_body(request)?, store.clock().now())?;
            Box::pin(lms_statements::record_statement(store, &principal, report)).await?;
            Ok(Reply::no_content())
        }
        Op::GetStatements => match (query.non_empty("statementId")?, query.non_empty("unmatched")?) {
            (Some(id), None) => {
                let id = StatementId::parse("statementId", id)?;
                let stored = lms_statements::get_statement(store, &principal, &id).await?;
                Reply::ok(&xapi::statement_view(&stored)?)
            }
            (None, Some("true")) => {
                let page = query.page(principal.org(), "xapi-unmatched".into())?;
                let result = lms_statements::unmatched_statements(store, &principal, &page).await?;
                Reply::ok(&StatementResult::of(&result.data, result.next_cursor, page.limit)?)
            }
            _ => Err(ApiError::validation(
                "statementId",
                "give `statementId` (one statement) or `unmatched=true` (what matched nothing); other LRS queries are not offered",
            )),
        },
        Op::GetAbout => Reply::ok(&xapi::About::now()),
    }
}
