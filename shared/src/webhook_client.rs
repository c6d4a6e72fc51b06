//! Sending one webhook delivery over HTTP, guarded against server-side request forgery:
//! the URL is judged again (`model::webhooks::webhook_url`), host names are resolved by
//! our own resolver, which refuses any name with an address a delivery may not reach (so
//! the address judged is the address connected to, whatever DNS says later), no proxy,
//! no redirects, and a bounded time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::{ApiError, ApiResult};
use crate::model::webhooks::{self, DestinationPolicy};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct SendOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
}

#[derive(Clone, Debug)]
pub struct WebhookClient {
    client: reqwest::Client,
    policy: DestinationPolicy,
    timeout: Duration,
}

#[derive(Debug)]
struct GuardedResolver {
    policy: DestinationPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some(refused) = addresses.iter().find(|address| !policy.allows_address(address.ip())) {
                return Err(format!(
                    "{host} resolves to {}, a private, loopback, link-local or reserved address; nothing is sent there",
                    refused.ip()
                )
                .into());
            }
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

impl WebhookClient {
    pub fn new(policy: DestinationPolicy, timeout: Duration) -> ApiResult<WebhookClient> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent("RaptorComply-Webhooks/1")
            .build()
            .map_err(ApiError::internal)?;
        Ok(WebhookClient {
            client,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> DestinationPolicy {
        self.policy
    }

    /// POSTs `body` to `url` with `headers`; a 2xx is success, anything else (another
    /// status, a refused destination, no answer in time) is a failure with its reason.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> SendOutcome {
        let started = Instant::now();
        let failed = |error: String| SendOutcome {
            status_code: None,
            error: Some(webhooks::attempt_error(&error)),
            duration: started.elapsed(),
        };
        if let Err(ApiError::Validation { message, .. }) = webhooks::webhook_url(url, self.policy) {
            return failed(format!("refused before sending: {message}"));
        }
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                SendOutcome {
                    status_code: Some(status),
                    error: (!response.status().is_success()).then(|| format!("the endpoint answered HTTP {status}")),
                    duration: started.elapsed(),
                }
            }
            Err(error) if error.is_timeout() => failed(format!("no answer within {} ms", self.timeout.as_millis())),
            Err(error) => failed(error_chain(&error)),
        }
    }
}

/// The error and its causes, on one line: reqwest's own message names only the request.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[tokio::test]
    async fn the_resolver_refuses_a_name_with_a_private_address() {
        let deployed = GuardedResolver {
            policy: DestinationPolicy::DEPLOYED,
        };
        let refused = deployed
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .err()
            .expect("localhost resolves to loopback");
        assert!(refused.to_string().contains("resolves to"), "{refused}");
        let local = GuardedResolver {
            policy: DestinationPolicy::LOCAL,
        };
        let addresses: Vec<SocketAddr> = local
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .expect("allowed in the local run")
            .collect();
        assert!(
            addresses.iter().all(|address| address.ip().is_loopback()),
            "{addresses:?}"
        );
    }
}
