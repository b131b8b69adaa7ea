//! What every handler binary shares: clients built once per cold start, JSON logs, and
//! errors that Step Functions can tell apart (`Shiftback.Retryable` versus terminal ones).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Serialize;

use crate::adapters::{
    load_config, CfnStacks, CloudWatchHealth, DynamoStore, LambdaHooks, LambdaRouter,
    LambdaVersions, SnsNotifier, StepFunctionsWorkflow,
};
use crate::alarm::AlarmResponder;
use crate::error::Error;
use crate::service::{ReleaseService, StartRequest};

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

/// The SDK clients a handler uses, one of each, built once per cold start.
#[derive(Clone, Debug)]
pub struct HandlerClients {
    pub lambda: aws_sdk_lambda::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The release provider's only: the requesting stack's status.
    pub cloudformation: aws_sdk_cloudformation::Client,
}

impl HandlerClients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        HandlerClients {
            lambda: aws_sdk_lambda::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
        }
    }
}

/// What a handler's environment names: the table, the topics, the state machine.
#[derive(Clone, Debug, Default)]
pub struct HandlerSettings {
    pub release_table: String,
    pub release_topic: Option<String>,
    pub incident_topic: Option<String>,
    pub state_machine_arn: Option<String>,
    /// The stack's pattern of functions a release may call as hooks (`HookFunctionNames`).
    pub hook_functions: Option<String>,
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:`, for the ARNs hooks are told.
    pub function_arn_prefix: Option<String>,
}

impl HandlerSettings {
    /// From `RELEASE_TABLE` (required), `RELEASE_TOPIC`, `INCIDENT_TOPIC`,
    /// `STATE_MACHINE_ARN`, `HOOK_FUNCTION_NAMES` and `FUNCTION_ARN_PREFIX` (each optional;
    /// empty counts as unset).
    pub fn from_env() -> Result<Self, lambda_runtime::Error> {
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(HandlerSettings {
            release_table: env("RELEASE_TABLE")?,
            release_topic: optional("RELEASE_TOPIC"),
            incident_topic: optional("INCIDENT_TOPIC"),
            state_machine_arn: optional("STATE_MACHINE_ARN"),
            hook_functions: optional("HOOK_FUNCTION_NAMES"),
            function_arn_prefix: optional("FUNCTION_ARN_PREFIX"),
        })
    }
}

/// Builds the release service from the environment and the standard AWS configuration.
/// Called once, before the first invocation.
pub async fn release_service() -> Result<ReleaseService, lambda_runtime::Error> {
    let clients = HandlerClients::new(&load_config().await);
    Ok(release_service_with(
        &clients,
        &HandlerSettings::from_env()?,
    ))
}

/// The release service the Step Functions task handlers run, from its clients and settings.
pub fn release_service_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> ReleaseService {
    let service = ReleaseService::new(
        LambdaRouter::new(clients.lambda.clone()),
        DynamoStore::new(clients.dynamodb.clone(), &settings.release_table).with_metrics(),
        CloudWatchHealth::new(clients.cloudwatch.clone()),
    )
    .with_hooks(LambdaHooks::new(
        clients.lambda.clone(),
        settings.hook_functions.as_deref(),
        settings.function_arn_prefix.as_deref(),
    ));
    match notifier(clients, settings) {
        Some(notifier) => service.with_notifier(notifier),
        None => service,
    }
}

/// The custom resource provider: the release service, the workflow it starts releases on,
/// and the answers it sends CloudFormation.
#[derive(Clone, Debug)]
pub struct ReleaseProvider {
    pub service: ReleaseService,
    pub workflow: StepFunctionsWorkflow,
    pub answers: std::sync::Arc<crate::workflow::cfn_response::CfnResponder>,
    pub stacks: CfnStacks,
}

impl ReleaseProvider {
    /// What the provider's function is invoked with: a custom resource request, or the end of
    /// a release's workflow (EventBridge), which answers a stack waiting for it.
    pub async fn serve(
        &self,
        event: serde_json::Value,
        deadline_ms: u64,
    ) -> Result<serde_json::Value, Error> {
        let ended = event.get("detail-type").and_then(|t| t.as_str())
            == Some(crate::service::EXECUTION_STATUS_CHANGE);
        // Boxed: each is deep, and a handler's stack is not.
        let answer = match ended {
            true => serde_json::to_value(Box::pin(self.answer_ended(event)).await?),
            false => serde_json::to_value(Box::pin(self.handle(event, deadline_ms)).await?),
        };
        answer.map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Handles one custom resource request and answers it (see
    /// [`ReleaseService::answer_cfn`]).
    /// `deadline_ms` is the invocation's deadline (epoch milliseconds), as Lambda gives it; one
    /// already past (a local emulator) bounds nothing.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline_ms: u64,
    ) -> Result<crate::service::Answered, Error> {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let budget = deadline_ms
            .checked_sub(now_ms)
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        let answer = self.service.answer_cfn(
            event,
            &self.workflow,
            self.answers.as_ref(),
            &self.stacks,
            budget,
        );
        // Boxed: the provider's future is deep (a supersede inside a start inside a request).
        Box::pin(answer).await
    }

    /// Answers the stack waiting for the release whose workflow ended (see
    /// [`ReleaseService::answer_ended`]).
    pub async fn answer_ended(
        &self,
        event: serde_json::Value,
    ) -> Result<
        Option<aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse>,
        Error,
    > {
        self.service
            .answer_ended(event, self.answers.as_ref())
            .await
    }
}

pub async fn release_provider() -> Result<ReleaseProvider, lambda_runtime::Error> {
    let clients = HandlerClients::new(&load_config().await);
    release_provider_with(&clients, &HandlerSettings::from_env()?)
}

/// The provider, from its clients and settings (`STATE_MACHINE_ARN` is required).
pub fn release_provider_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> Result<ReleaseProvider, lambda_runtime::Error> {
    let arn = settings
        .state_machine_arn
        .clone()
        .ok_or("STATE_MACHINE_ARN is required by the release provider")?;
    Ok(ReleaseProvider {
        service: release_service_with(clients, settings),
        workflow: StepFunctionsWorkflow::new(clients.sfn.clone(), arn),
        answers: std::sync::Arc::new(Default::default()),
        stacks: CfnStacks::new(clients.cloudformation.clone()),
    })
}

/// The release service and the version catalog the retention step runs on.
pub async fn retention_service() -> Result<(ReleaseService, LambdaVersions), lambda_runtime::Error>
{
    let clients = HandlerClients::new(&load_config().await);
    Ok(retention_service_with(
        &clients,
        &HandlerSettings::from_env()?,
    ))
}

/// The retention step's service and catalog, from its clients and settings.
pub fn retention_service_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> (ReleaseService, LambdaVersions) {
    let service = release_service_with(clients, settings);
    (service, LambdaVersions::new(clients.lambda.clone()))
}

/// A start request with the stack's default retention (`DEFAULT_RETAIN_VERSIONS`) when the
/// request names none.
pub fn with_default_retention(request: StartRequest) -> StartRequest {
    retention_default(
        request,
        std::env::var("DEFAULT_RETAIN_VERSIONS").ok().as_deref(),
    )
}

/// The request's own retention wins; else the stack's `default` (0, unset or unreadable: none).
fn retention_default(mut request: StartRequest, default: Option<&str>) -> StartRequest {
    let default = default
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| n > 0);
    request.retain_versions = request.retain_versions.or(default);
    request
}

/// Builds the alarm responder from the environment; `STATE_MACHINE_ARN`, when set, lets it
/// stop the workflow.
pub async fn alarm_responder() -> Result<AlarmResponder, lambda_runtime::Error> {
    let clients = HandlerClients::new(&load_config().await);
    Ok(alarm_responder_with(
        &clients,
        &HandlerSettings::from_env()?,
    ))
}

/// The alarm function's responder, from its clients and settings.
pub fn alarm_responder_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> AlarmResponder {
    let workflow = settings
        .state_machine_arn
        .as_ref()
        .map(|arn| StepFunctionsWorkflow::new(clients.sfn.clone(), arn));
    let responder = AlarmResponder::new(
        LambdaRouter::new(clients.lambda.clone()),
        DynamoStore::new(clients.dynamodb.clone(), &settings.release_table).with_metrics(),
        workflow,
    )
    .with_alarm_cleanup(CloudWatchHealth::new(clients.cloudwatch.clone()));
    match notifier(clients, settings) {
        Some(notifier) => responder.with_notifier(notifier),
        None => responder,
    }
}

/// The notifier, when a release topic is set.
fn notifier(clients: &HandlerClients, settings: &HandlerSettings) -> Option<SnsNotifier> {
    Some(SnsNotifier::new(
        clients.sns.clone(),
        clients.dynamodb.clone(),
        &settings.release_table,
        settings.release_topic.clone()?,
        settings.incident_topic.clone(),
    ))
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

    #[test]
    fn the_stacks_default_retention_applies_only_where_a_release_names_none() {
        let request: StartRequest = serde_json::from_value(serde_json::json!({
            "function": "orders", "alias": "live", "target_version": "2", "strategy": "AllAtOnce"
        }))
        .unwrap();
        let named = StartRequest {
            retain_versions: Some(3),
            ..request.clone()
        };
        let cases = [
            (request.clone(), Some("10"), Some(10)),
            (request.clone(), Some(" 10 "), Some(10)),
            (request.clone(), Some("0"), None),
            (request.clone(), None, None),
            (request.clone(), Some("ten"), None),
            (named.clone(), Some("10"), Some(3)),
            (named, None, Some(3)),
        ];
        for (request, default, expected) in cases {
            let got = retention_default(request, default).retain_versions;
            assert_eq!(got, expected, "default {default:?}");
        }
    }

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
