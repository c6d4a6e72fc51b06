//! A Query's response body, handed to us as bytes instead of parsed by the SDK.
//!
//! The SDK parses every item of a Query into maps of `AttributeValue` (a `String` per
//! name and per value, a hash per attribute), which was the largest share of an export's
//! CPU. A request that asks for its body ([`RawBody`]) gets it here as the bytes DynamoDB
//! sent, and the SDK gets `{}` to parse in their place. Everything else stays the SDK's:
//! signing, retries, timeouts, and errors (a response that is not a success is left
//! alone, so the SDK reads and classifies it as always).

use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;

/// Where one request's successful body lands. Set it on a request with
/// `.customize().interceptor(raw_body.interceptor())`; after `send()`, `take()` has the
/// body of the attempt that succeeded.
#[derive(Debug, Clone, Default)]
pub struct RawBody(Arc<Mutex<Option<Bytes>>>);

impl RawBody {
    pub fn interceptor(&self) -> AskForRawBody {
        AskForRawBody(self.clone())
    }

    pub fn take(&self) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn put(&self, body: Bytes) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
    }
}

/// Marks each attempt of one request (a retry is a new HTTP request) with its [`RawBody`].
#[derive(Debug)]
pub struct AskForRawBody(RawBody);

impl Intercept for AskForRawBody {
    fn name(&self) -> &'static str {
        "AskForRawBody"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().add_extension(self.0.clone());
        Ok(())
    }
}

/// What the SDK parses in place of a body it handed over: an output with nothing in it.
const EMPTY_OUTPUT: &str = "{}";

/// The client's own HTTP connections, handing marked bodies over.
#[derive(Debug)]
struct HandingOverConnector(SharedHttpConnector);

impl HttpConnector for HandingOverConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(raw_body) = request.extension::<RawBody>().cloned() else {
            return self.0.call(request);
        };
        let response = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = response.await?;
            if response.status().is_success() {
                let length = response
                    .headers()
                    .get("content-length")
                    .and_then(|length| length.parse::<usize>().ok());
                raw_body.put(read_whole(response.take_body(), length).await?);
                *response.body_mut() = SdkBody::from(EMPTY_OUTPUT);
                // The SDK checks that a body is as long as its Content-Length said.
                response
                    .headers_mut()
                    .insert("content-length", EMPTY_OUTPUT.len().to_string());
            }
            Ok(response)
        })
    }
}

/// Room reserved up front for a body of announced length: a Query's answer is at most
/// 1 MB of items, in DynamoDB's JSON a few times that.
const MAX_RESERVED_BYTES: usize = 8 << 20;

/// The whole body in one buffer, sized by its `Content-Length`: each chunk is copied in
/// and dropped at once, so the connection reuses its read buffer instead of growing a
/// new one for every chunk still held.
async fn read_whole(body: SdkBody, length: Option<usize>) -> Result<Bytes, ConnectorError> {
    let mut stream = ByteStream::new(body);
    let mut bytes = Vec::with_capacity(length.unwrap_or(0).min(MAX_RESERVED_BYTES));
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|error| ConnectorError::io(error.into()))?);
    }
    Ok(Bytes::from(bytes))
}

#[derive(Debug)]
struct HandingOverClient(SharedHttpClient);

impl HttpClient for HandingOverClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(HandingOverConnector(self.0.http_connector(settings, components)))
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The client's configuration, with connections that can hand a body over. A client built
/// without an HTTP client of its own gets the SDK's default one (rustls with aws-lc).
pub fn handing_over_bodies(client: &Client) -> aws_sdk_dynamodb::config::Builder {
    let config = client.config();
    let http = config.http_client().unwrap_or_else(|| {
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https()
    });
    config.to_builder().http_client(HandingOverClient(http))
}
