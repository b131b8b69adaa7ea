//! What every handler binary shares: clients built once per cold start, JSON logs, and
//! errors that Step Functions can tell apart (`Shiftback.Retryable` versus terminal ones).

use std::future::Future;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Serialize;

use crate::adapters::{
    load_config, AlarmHealth, Notifier, ReleaseStore, TrafficRouter, WorkflowControl,
};
use crate::alarm::AlarmResponder;
use crate::error::Error;
use crate::service::ReleaseService;

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

/// Builds the release service from the environment (`RELEASE_TABLE`, and `RELEASE_TOPIC`
/// with optional `INCIDENT_TOPIC` for notifications) and the standard AWS configuration.
/// Called once, before the first invocation.
pub async fn release_service() -> Result<ReleaseService, lambda_runtime::Error> {
    let config = load_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = env("RELEASE_TABLE")?;
    let service = ReleaseService::new(
        TrafficRouter::new(aws_sdk_lambda::Client::new(&config)),
        ReleaseStore::new(dynamodb.clone(), &table),
        AlarmHealth::new(aws_sdk_cloudwatch::Client::new(&config)),
    );
    Ok(match notifier(&config, dynamodb, &table) {
        Some(notifier) => service.with_notifier(notifier),
        None => service,
    })
}

/// Builds the alarm responder; `STATE_MACHINE_ARN`, when set, lets it stop the workflow.
pub async fn alarm_responder() -> Result<AlarmResponder, lambda_runtime::Error> {
    let config = load_config().await;
    let workflow = std::env::var("STATE_MACHINE_ARN")
        .ok()
        .filter(|arn| !arn.is_empty())
        .map(|arn| WorkflowControl::new(aws_sdk_sfn::Client::new(&config), arn));
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = env("RELEASE_TABLE")?;
    let responder = AlarmResponder::new(
        TrafficRouter::new(aws_sdk_lambda::Client::new(&config)),
        ReleaseStore::new(dynamodb.clone(), &table),
        workflow,
    );
    Ok(match notifier(&config, dynamodb, &table) {
        Some(notifier) => responder.with_notifier(notifier),
        None => responder,
    })
}

/// The notifier, when `RELEASE_TOPIC` names a topic.
fn notifier(
    config: &aws_config::SdkConfig,
    dynamodb: aws_sdk_dynamodb::Client,
    table: &str,
) -> Option<Notifier> {
    let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(Notifier::new(
        aws_sdk_sns::Client::new(config),
        dynamodb,
        table,
        optional("RELEASE_TOPIC")?,
        optional("INCIDENT_TOPIC"),
    ))
}

/// The account in a function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn account_of(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Runs `handler` for every invocation, with `service` built once and shared.
pub async fn serve<S, F, Fut, O>(service: S, handler: F) -> Result<(), lambda_runtime::Error>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S, LambdaEvent<serde_json::Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Error>> + Send,
    O: Serialize + Send,
{
    lambda_runtime::tracing::init_default_subscriber();
    let handler = &handler;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let service = service.clone();
        async move {
            let outcome = handler(service, event).await;
            if let Err(error) = &outcome {
                tracing::error!(error_type = error.error_type(), %error, "invocation failed");
            }
            outcome.map_err(Diagnostic::from)
        }
    }))
    .await
}
