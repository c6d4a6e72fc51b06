//! Training assignments: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::ExportingApp;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::QueryParams;
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{FacilityId, TrainingAssignmentId, UserId};
use raptor_shared::model::training_assignments::{AssignmentQuery, AssignmentQueryText};
use raptor_shared::operations::training_status::TrainingStatusQuery;
use raptor_shared::rest;
use raptor_shared::rest::exports::{self, ExportFile, ExportFormat};
use raptor_shared::rest::training_export::{self, ExportRequest};
use raptor_shared::routes::{self, Function, Operation, TrainingAssignmentsOperation as Op};
use raptor_shared::time::Date;

pub async fn handle(training: &ExportingApp, request: Request) -> Response<Body> {
    http::respond(dispatch(training, &request).await)
}

/// The filters of the list, which the export takes too.
fn filters(query: &QueryParams) -> ApiResult<AssignmentQuery> {
    AssignmentQuery::parse(&AssignmentQueryText {
        user_id: query.non_empty("userId")?,
        module_id: query.non_empty("moduleId")?,
        facility_id: query.non_empty("facilityId")?,
        status: query.non_empty("status")?,
        completed_after: query.non_empty("completedAfter")?,
        completed_before: query.non_empty("completedBefore")?,
        due_before: query.non_empty("dueBefore")?,
        expires_before: query.non_empty("expiresBefore")?,
        sort: query.non_empty("sort")?,
    })
}

async fn dispatch(training: &ExportingApp, request: &Request) -> ApiResult<Reply> {
    let app = &training.app;
    let route = routes::match_request(Function::TrainingAssignments, request)?;
    let Operation::TrainingAssignments(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = raptor_shared::operations::authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || TrainingAssignmentId::parse("id", route.param("id")?);
    match operation {
        Op::GetTrainingAssignments => {
            let filters = filters(&query)?;
            let page = query.page(principal.org(), filters.fingerprint())?;
            Reply::ok(&rest::training_assignments::list(store, &principal, &filters, &page).await?)
        }
        Op::CreateTrainingAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                Reply::created(&rest::training_assignments::create(store, &principal, http::json_body(request)?).await?)
            })
            .await
        }
        Op::GetTrainingAssignment => Reply::ok(&rest::training_assignments::get(store, &principal, &id()?).await?),
        Op::UpdateTrainingAssignment => {
            let input = http::json_body(request)?;
            Reply::ok(&rest::training_assignments::update(store, &principal, &id()?, input).await?)
        }
        Op::CompleteTrainingAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body_or_empty(request)?;
                Reply::ok(&rest::training_assignments::complete(store, &principal, &id()?, input).await?)
            })
            .await
        }
        Op::DeleteTrainingAssignment => {
            Reply::ok(&rest::training_assignments::delete(store, &principal, &id()?).await?)
        }
        Op::StartTrainingAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                Reply::ok(&rest::training_assignments::start(store, &principal, &id()?).await?)
            })
            .await
        }
        Op::WaiveTrainingAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::ok(&rest::training_assignments::waive(store, &principal, &id()?, input).await?)
            })
            .await
        }
        Op::GetTrainingAssignmentFacilities => {
            Reply::ok(&rest::training_assignments::facilities(store, &principal, &id()?).await?)
        }
        Op::AddFacilitiesToAssignment => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::ok(&rest::training_assignments::add_facilities(store, &principal, &id()?, input).await?)
            })
            .await
        }
        Op::ExportTrainingAssignments => {
            let export = ExportRequest {
                query: filters(&query)?,
                file: ExportFile {
                    stem: training_export::FILE_STEM,
                    format: ExportFormat::parse(query.non_empty("format")?)?,
                    gzip: http::accepts_gzip(request),
                },
            };
            let settings = training.export_settings();
            let outcome = training_export::export_assignments(store, &principal, &export, &settings).await?;
            exports::reply(outcome, export.file)
        }
        Op::GetUserTrainingStatus => {
            let user = UserId::parse("id", route.param("id")?)?;
            let status_query = TrainingStatusQuery {
                as_of: query.non_empty("asOf")?.map(|d| Date::parse("asOf", d)).transpose()?,
                facility_id: query
                    .non_empty("facilityId")?
                    .map(|id| FacilityId::parse("facilityId", id))
                    .transpose()?,
            };
            let window = app.renewal_window_days;
            Reply::ok(&rest::training_status::get(store, &principal, &user, status_query, window).await?)
        }
        Op::RemoveFacilityFromAssignment => {
            let facility = FacilityId::parse("facilityId", route.param("facilityId")?)?;
            Reply::ok(&rest::training_assignments::remove_facility(store, &principal, &id()?, &facility).await?)
        }
    }
}
