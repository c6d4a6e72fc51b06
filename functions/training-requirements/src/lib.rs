//! Training requirements: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{FacilityId, TrainingRequirementId};
use raptor_shared::operations::training_requirements::{self, GapsQuery};
use raptor_shared::rest::{self, training_requirements::TrainingRequirementView};
use raptor_shared::routes::{self, Function, Operation, TrainingRequirementsOperation as Op};
use raptor_shared::time::Date;

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::TrainingRequirements, request)?;
    let Operation::TrainingRequirements(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = raptor_shared::operations::authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || TrainingRequirementId::parse("id", route.param("id")?);
    match operation {
        Op::ListTrainingRequirements => {
            let page = query.page(principal.org(), "training-requirements".into())?;
            Reply::ok(&rest::training_requirements::list(store, &principal, &page).await?)
        }
        Op::CreateTrainingRequirement => {
            idempotency::for_caller(store, request, &principal, async {
                let body = http::json_body(request)?;
                Reply::created(&rest::training_requirements::create(store, &principal, body).await?)
            })
            .await
        }
        Op::GetTrainingRequirement => Reply::ok(&TrainingRequirementView::with_backfill(
            &training_requirements::get_requirement(store, &principal, &id()?).await?,
        )),
        Op::UpdateTrainingRequirement => {
            let body = http::json_body(request)?;
            Reply::ok(&rest::training_requirements::update(store, &principal, &id()?, body).await?)
        }
        Op::DeleteTrainingRequirement => Reply::ok(&TrainingRequirementView::of(
            &training_requirements::delete_requirement(store, &principal, &id()?).await?,
        )),
        Op::ListTrainingGaps => {
            let gaps = GapsQuery {
                as_of: query.non_empty("asOf")?.map(|d| Date::parse("asOf", d)).transpose()?,
                facility_id: query
                    .non_empty("facilityId")?
                    .map(|id| FacilityId::parse("facilityId", id))
                    .transpose()?,
                requirement_id: query
                    .non_empty("requirementId")?
                    .map(|id| TrainingRequirementId::parse("requirementId", id))
                    .transpose()?,
            };
            let fingerprint = format!(
                "training-requirements/gaps?asOf={:?}&facilityId={:?}&requirementId={:?}",
                gaps.as_of, gaps.facility_id, gaps.requirement_id
            );
            let page = query.page(principal.org(), fingerprint)?;
            Reply::ok(&rest::training_requirements::gaps(store, &principal, gaps, &page).await?)
        }
    }
}
