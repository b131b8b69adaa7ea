//! What every AWS adapter shares: the SDK configuration (retries, timeouts, TLS), and each
//! concern's adapter by name (each lives in its concern's module: [`crate::router`],
//! [`crate::store`], ...). Build them once per cold start (see [`crate::runtime`]) and share
//! them across invocations.

pub mod emf;

pub use crate::analysis::cloudwatch::CloudWatchHealth;
pub use crate::hooks::LambdaHooks;
pub use crate::notifier::SnsNotifier;
pub use crate::retention::LambdaVersions;
pub use crate::router::{
    AliasRouting, AliasState, LambdaRouter, RateLimiter, Readiness, VersionInfo,
};
pub use crate::store::{DynamoStore, Guard, HistoryPage, LoadedRelease, LockInfo, LockTakeover};
pub use crate::workflow::{CfnStacks, StepFunctionsWorkflow};

/// The SDK configuration every adapter is built from: the standard AWS environment (region,
/// credentials, `AWS_ENDPOINT_URL` for local emulators).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// The configuration a Lambda handler's clients are built from, read from what Lambda sets in
/// a zip function's environment: the Region (`AWS_REGION`), the role's credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and an endpoint that
/// tests and local emulators set (`AWS_ENDPOINT_URL`). The same TLS, timeouts and retries as
/// [`load_config`], without aws-config's default chain (profiles, SSO, web identity with its
/// STS client, the instance metadata service), which is 0.63 MB of the handlers' binary. Left
/// out with it: FIPS and dual-stack endpoints and per-service endpoint variables. A function
/// given its credentials another way (the container endpoint: SnapStart, a capacity provider)
/// is refused at its cold start, never at its first revert. The CLI keeps the whole chain.
pub fn lambda_config() -> Result<aws_config::SdkConfig, String> {
    lambda_config_from(|name| std::env::var(name).ok())
}

fn lambda_config_from(
    read: impl Fn(&str) -> Option<String>,
) -> Result<aws_config::SdkConfig, String> {
    use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let env = |name: &str| read(name).filter(|v| !v.trim().is_empty());
    if env("AWS_ACCESS_KEY_ID").is_none() {
        return Err(match env("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            Some(_) => "this function gets its credentials from the container endpoint \
                        (SnapStart or a capacity provider), which shiftback's handlers do not \
                        read: deploy them as template.yaml does"
                .to_string(),
            None => "AWS_ACCESS_KEY_ID is not set: shiftback's handlers take their role's \
                     credentials from Lambda's environment"
                .to_string(),
        });
    }
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region.map(aws_config::Region::new))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http_client())
        .timeout_config(timeouts())
        .retry_config(retries())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    Ok(match env("AWS_ENDPOINT_URL") {
        Some(url) => config.endpoint_url(url).build(),
        None => config.build(),
    })
}

/// How every client retries: the SDK's adaptive mode. Lambda's control-plane rate (15
/// requests a second per account and Region) is shared by every shiftback function, the CLI
/// and anything else in the account, so no limiter inside one process can hold it; a throttle
/// is the account-wide signal. In adaptive mode each client meets one by slowing its own
/// sending rate (a token bucket that backs off on throttling and grows again, CUBIC-style)
/// rather than only spacing its retries, so several processes settle under the shared rate
/// together. Six attempts: a step meeting a burst of other callers still finishes, within
/// the operation timeout.
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::adaptive().with_max_attempts(6)
}

/// The SDK's hyper client over rustls with ring: what `default-https-client` would give, but
/// without aws-lc (a C library that adds build time and binary size, for TLS that ring does
/// as well here).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls_provider())
        .build_https()
}

/// rustls over ring: the TLS of every HTTPS call, the SDK's and the custom resource's answer.
pub(crate) fn tls_provider() -> aws_smithy_http_client::tls::Provider {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    Provider::Rustls(CryptoMode::Ring)
}

/// Bounds on every AWS call. Without them a connection that stops answering holds a handler
/// until Lambda's own timeout kills it; with them the call fails as retryable, in time for
/// the handler to say so and for Step Functions' Retry to act on it.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(20))
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from_env(set: &[(&str, &str)]) -> Result<aws_config::SdkConfig, String> {
        let set: HashMap<&str, &str> = set.iter().copied().collect();
        lambda_config_from(|name| set.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn a_handlers_configuration_is_what_lambdas_environment_says() {
        let key = ("AWS_ACCESS_KEY_ID", "AKIA");
        let config = from_env(&[
            key,
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(config.credentials_provider().is_some() && config.sleep_impl().is_some());
        assert_eq!(config.retry_config(), Some(&retries()));
        assert_eq!(config.timeout_config(), Some(&timeouts()));
        // Lambda sets no endpoint: the service's own; an empty value is none.
        let config = from_env(&[
            key,
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", " "),
        ])
        .unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(config.endpoint_url(), None);
    }

    #[test]
    fn credentials_lambda_did_not_put_in_the_environment_refuse_the_cold_start() {
        let container = from_env(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.2/x",
        )]);
        assert!(container.unwrap_err().contains("container endpoint"));
        assert!(from_env(&[("AWS_REGION", "eu-west-1")])
            .unwrap_err()
            .contains("AWS_ACCESS_KEY_ID"));
    }
}
