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
