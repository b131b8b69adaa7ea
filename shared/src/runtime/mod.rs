//! What every handler binary shares: clients built once per cold start, JSON logs, and
//! errors that Step Functions can tell apart (`Shiftback.Retryable` versus terminal ones).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Serialize;

use crate::error::Error;

mod provider;
mod wiring;

pub use provider::{
    plans_with, release_provider, release_provider_with, AwsPlans, ReleaseProvider,
};
pub use wiring::*;

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// Reads a required environment variable, with an error that names it.
pub fn env(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The account in a function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn account_of(function_arn: &str) -> Option<&str> {
    crate::domain::arn::Arn::account_of(function_arn)
}

/// Logging as Lambda's advanced logging controls ask: the level from `AWS_LAMBDA_LOG_LEVEL`
/// (else `RUST_LOG`, read as a bare level; INFO by default), JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`. A level, not per-module directives: `tracing-subscriber`'s
/// env-filter (which `lambda_runtime`'s own default subscriber uses) brings a regex engine into
/// every binary for a feature Lambda's controls never set.
fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_max_level(level);
    // Another subscriber already set (a test binary) is fine: keep it.
    let _ = if json {
        logs.json().try_init()
    } else {
        logs.try_init()
    };
}

/// Runs `handler` for every invocation, with `service` built once and shared.
pub async fn serve<S, F, Fut, O>(service: S, handler: F) -> Result<(), lambda_runtime::Error>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, LambdaEvent<serde_json::Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Error>> + Send,
    O: Serialize + Send,
{
    init_logging();
    let handler = &handler;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let service = service.clone();
        async move {
            let deadline = event.context.deadline;
            // Boxed: the handler's future is deep, and its type need not be known here.
            let work = Box::pin(handler(service, event));
            let outcome = within_deadline(deadline, DEADLINE_MARGIN, work).await;
            if let Err(error) = &outcome {
                tracing::error!(error_type = error.error_type(), %error, "invocation failed");
            }
            outcome.map_err(Diagnostic::from)
        }
    }))
    .await
}

/// How long before Lambda's deadline a handler gives up: enough to report the error.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// Runs one invocation's work so that it always ends with an answer Step Functions can act
/// on: cut off `margin` before the invocation's deadline (epoch milliseconds) as a retryable
/// error, and a panic reported as an error rather than a process that vanishes. Every AWS
/// call is bounded, but a handler makes several, so only the invocation's own deadline bounds
/// them all. Being cut off between two writes is safe: each handler completes the work on its
/// next run, as a crash at the same point would (tests/crash.rs).
pub async fn within_deadline<O>(
    deadline_ms: u64,
    margin: Duration,
    work: impl Future<Output = Result<O, Error>>,
) -> Result<O, Error> {
    let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let work = AssertUnwindSafe(work).catch_unwind();
    let outcome = if deadline_ms <= now_ms {
        // No deadline known: Lambda always sends one in the future; a local emulator run
        // without a timeout (cargo lambda watch) sends one already past.
        Ok(work.await)
    } else {
        let remaining = Duration::from_millis(deadline_ms - now_ms);
        // A timeout shorter than the margin still leaves the work half of it.
        let budget = remaining
            .checked_sub(margin)
            .filter(|b| *b >= remaining / 2);
        let budget = budget.unwrap_or(remaining / 2);
        tokio::time::timeout(budget, work).await.map_err(|_| budget)
    };
    match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            Err(Error::Panicked(message))
        }
        Err(budget) => Err(Error::OutOfTime {
            budget_ms: budget.as_millis() as u64,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ms(ms: i64) -> u64 {
        (chrono::Utc::now().timestamp_millis() + ms) as u64
    }

    #[tokio::test]
    async fn work_that_outruns_the_deadline_ends_as_retryable_before_it() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        };
        let started = std::time::Instant::now();
        let err = within_deadline(in_ms(300), Duration::from_millis(100), slow)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutOfTime { .. }), "{err}");
        assert!(err.is_retryable());
        assert_eq!(err.error_type(), "Shiftback.Retryable");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_panic_is_reported_as_an_error() {
        let panics = async {
            if in_ms(0) > 0 {
                panic!("index out of bounds in the handler");
            }
            Ok(())
        };
        let err = within_deadline(in_ms(60_000), DEADLINE_MARGIN, panics)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Panicked(_)), "{err}");
        assert!(err.to_string().contains("index out of bounds"), "{err}");
        assert_eq!(err.error_type(), "Shiftback.Panicked");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_deadline_already_past_means_none_is_known() {
        // What a local emulator without a timeout sends; Lambda's is always in the future.
        let value = within_deadline(in_ms(-1_000), DEADLINE_MARGIN, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(7)
        })
        .await
        .unwrap();
        assert_eq!(value, 7);
    }

    #[tokio::test]
    async fn work_in_time_passes_through() {
        let value = within_deadline(in_ms(60_000), DEADLINE_MARGIN, async { Ok(7) })
            .await
            .unwrap();
        assert_eq!(value, 7);
    }
}
