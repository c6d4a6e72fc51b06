//! Creating the table where there is none (local emulator, tests, first bootstrap). In AWS
//! the table comes from `infra/template.yaml`; both define the same keys and indexes.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::Store;
use super::keys::{
    GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, GSI3, GSI3PK, GSI3SK, GSI4, GSI4PK, GSI4SK, GSI5, GSI5PK, GSI5SK, GSI6,
    GSI6PK, GSI6SK, GSI7, GSI7PK, GSI7SK, PK, SK, TTL_ATTRIBUTE,
};
use crate::error::{ApiError, ApiResult};

fn key_schema(partition: &str, sort: &str) -> ApiResult<Vec<KeySchemaElement>> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(partition)
            .key_type(KeyType::Hash)
            .build()
            .map_err(ApiError::internal)?,
        KeySchemaElement::builder()
            .attribute_name(sort)
            .key_type(KeyType::Range)
            .build()
            .map_err(ApiError::internal)?,
    ])
}

fn index(name: &str, partition: &str, sort: &str) -> ApiResult<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(key_schema(partition, sort)?))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(ApiError::internal)
}

/// Creates the table unless it exists; answers whether it created it.
pub async fn ensure_table(store: &Store) -> ApiResult<bool> {
    let mut definitions = Vec::new();
    for name in [
        PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK, GSI5PK, GSI5SK, GSI6PK, GSI6SK, GSI7PK,
        GSI7SK,
    ] {
        definitions.push(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(ApiError::internal)?,
        );
    }
    let result = store
        .client()
        .create_table()
        .table_name(store.table())
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(PK, SK)?))
        .global_secondary_indexes(index(GSI1, GSI1PK, GSI1SK)?)
        .global_secondary_indexes(index(GSI2, GSI2PK, GSI2SK)?)
        .global_secondary_indexes(index(GSI3, GSI3PK, GSI3SK)?)
        .global_secondary_indexes(index(GSI4, GSI4PK, GSI4SK)?)
        .global_secondary_indexes(index(GSI5, GSI5PK, GSI5SK)?)
        .global_secondary_indexes(index(GSI6, GSI6PK, GSI6SK)?)
        .global_secondary_indexes(index(GSI7, GSI7PK, GSI7SK)?)
        // New items' images feed the webhook dispatcher (docs/webhooks.md).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(ApiError::internal)?,
        )
        .send()
        .await;
    match result {
        Ok(_) => {
            enable_ttl(store).await?;
            Ok(true)
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// DynamoDB TTL on `ttlEpochSeconds`, as the template's `TimeToLiveSpecification`: expired
/// idempotency records are deleted (the code never relies on it; the emulator never does).
async fn enable_ttl(store: &Store) -> ApiResult<()> {
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(ApiError::internal)?;
    store
        .client()
        .update_time_to_live()
        .table_name(store.table())
        .time_to_live_specification(specification)
        .send()
        .await?;
    Ok(())
}
