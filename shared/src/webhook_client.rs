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

/// How long registration waits for a name to resolve before accepting it unresolved.
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(2);

/// Registration's check of a URL's host name: refused when it resolves to an address a
/// delivery may not reach (a name for this machine, an internal or metadata name). A name
/// that does not resolve (yet) passes: each attempt resolves it again and refuses it then.
pub async fn check_destination(url: &url::Url, policy: DestinationPolicy) -> ApiResult<()> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let Ok(Ok(addresses)) = tokio::time::timeout(REGISTRATION_LOOKUP, tokio::net::lookup_host((host, 443))).await
    else {
        return Ok(());
    };
    // The address itself is not named: a tenant must not learn what names resolve to
    // inside our network.
    for address in addresses {
        if !policy.allows_address(address.ip()) {
            return Err(ApiError::validation(
                "url",
                format!(
                    "`url`'s host {host} resolves to a private, loopback, link-local or reserved address; \
                     webhooks go to public addresses only"
                ),
            ));
        }
    }
    Ok(())
}

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
            // Recorded on the attempt, which the tenant reads: the address is not named.
            if addresses.iter().any(|address| !policy.allows_address(address.ip())) {
                return Err(format!(
                    "{host} resolves to a private, loopback, link-local or reserved address; nothing is sent there"
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
    async fn registration_refuses_a_name_that_resolves_to_a_private_address_and_accepts_one_that_does_not_resolve() {
        let name = url::Url::parse("https://localhost/hooks").unwrap();
        match check_destination(&name, DestinationPolicy::DEPLOYED).await {
            Err(ApiError::Validation { field, message }) => {
                assert_eq!(field, "url");
                assert!(message.contains("resolves to"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(check_destination(&name, DestinationPolicy::LOCAL).await.is_ok());
        // RFC 6761: `.invalid` never resolves; each attempt will try again.
        let unresolved = url::Url::parse("https://hooks.example.invalid/").unwrap();
        assert!(
            check_destination(&unresolved, DestinationPolicy::DEPLOYED)
                .await
                .is_ok()
        );
        let literal = url::Url::parse("https://93.184.216.34/").unwrap();
        assert!(check_destination(&literal, DestinationPolicy::DEPLOYED).await.is_ok());
    }

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
