//! One wiring for every caller: the SDK clients built once, the settings a handler's
//! environment (or the CLI's flags and the stack's outputs) names, and the services built
//! from the two.

use crate::adapters::{
    lambda_config, CloudWatchHealth, DynamoStore, LambdaHooks, LambdaRouter, LambdaVersions,
    SnsNotifier, StepFunctionsWorkflow,
};
use crate::alarm::AlarmResponder;
use crate::service::retention::VersionRetention;
use crate::service::{ReleaseService, StartRequest};
use crate::waves::{LambdaPlanStops, ShiftbackRegions, WaveCoordinator};

use super::env;

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
    pub caller: Caller,
}

/// Whom the services are built for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Caller {
    /// One of the stack's functions: it may invoke hooks (those `HookFunctionNames` allows) and
    /// publishes the records' metrics (embedded in its logs).
    #[default]
    Handler,
    /// The operator's CLI: its standard output is its user's, not a metrics stream, and the
    /// workflow invokes the hooks, so the stack's pattern is checked there, not here.
    Operator,
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
            caller: Caller::Handler,
        })
    }
}

/// Builds what a handler serves with `build`, from Lambda's environment: its clients (once, at
/// the cold start) and its settings.
pub fn from_environment<T>(
    build: impl FnOnce(&HandlerClients, &HandlerSettings) -> T,
) -> Result<T, lambda_runtime::Error> {
    let clients = HandlerClients::new(&lambda_config()?);
    Ok(build(&clients, &HandlerSettings::from_env()?))
}

/// Builds the release service from the environment and the standard AWS configuration.
/// Called once, before the first invocation.
pub async fn release_service() -> Result<ReleaseService, lambda_runtime::Error> {
    from_environment(release_service_with)
}

/// The release service the Step Functions task handlers run, from its clients and settings.
pub fn release_service_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> ReleaseService {
    let store = store(clients, settings);
    let notifier = notifier(clients, settings, &store);
    let service = ReleaseService::new(
        LambdaRouter::new(clients.lambda.clone()),
        store,
        CloudWatchHealth::new(clients.cloudwatch.clone()),
    );
    // Every caller's rollback of a plan's release tells the plan, the operator's too.
    let service = service.with_plan_stops(LambdaPlanStops::new(clients.lambda.clone()));
    let service = match settings.caller {
        Caller::Handler => service.with_hooks(LambdaHooks::new(
            clients.lambda.clone(),
            settings.hook_functions.as_deref(),
            settings.function_arn_prefix.as_deref(),
        )),
        Caller::Operator => service,
    };
    match notifier {
        Some(notifier) => service.with_notifier(notifier),
        None => service,
    }
}

/// The release service and the version catalog the retention step runs on.
pub async fn retention_service() -> Result<(ReleaseService, LambdaVersions), lambda_runtime::Error>
{
    from_environment(retention_service_with)
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
    from_environment(alarm_responder_with)
}

/// The alarm function's responder, from its clients and settings.
pub fn alarm_responder_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> AlarmResponder {
    let workflow = workflow_with(clients, settings);
    let store = store(clients, settings);
    let notifier = notifier(clients, settings, &store);
    let responder = AlarmResponder::new(LambdaRouter::new(clients.lambda.clone()), store, workflow)
        .with_alarm_cleanup(CloudWatchHealth::new(clients.cloudwatch.clone()))
        .with_plan_stops(LambdaPlanStops::new(clients.lambda.clone()));
    match notifier {
        Some(notifier) => responder.with_notifier(notifier),
        None => responder,
    }
}

/// The release records, with their metrics where a handler keeps them.
fn store(clients: &HandlerClients, settings: &HandlerSettings) -> DynamoStore {
    let store = DynamoStore::new(clients.dynamodb.clone(), &settings.release_table);
    match settings.caller {
        Caller::Handler => store.with_metrics(),
        Caller::Operator => store,
    }
}

/// Version retention (`shiftback prune`, `shiftback durable`): Lambda's versions and the
/// release history (what is in progress, what is a rollback target).
pub fn version_retention_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> VersionRetention {
    VersionRetention {
        catalog: LambdaVersions::new(clients.lambda.clone()),
        store: store(clients, settings),
    }
}

/// The release workflow, when a state machine is named.
pub fn workflow_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> Option<StepFunctionsWorkflow> {
    let arn = settings.state_machine_arn.as_ref()?;
    Some(StepFunctionsWorkflow::new(clients.sfn.clone(), arn))
}

/// For handing task tokens back to Step Functions, which needs no state machine ARN.
pub fn task_tokens_with(clients: &HandlerClients) -> StepFunctionsWorkflow {
    StepFunctionsWorkflow::new(clients.sfn.clone(), "")
}

/// The notifier, when a release topic is set: its outbox on the store's client and clock.
fn notifier(
    clients: &HandlerClients,
    settings: &HandlerSettings,
    store: &DynamoStore,
) -> Option<SnsNotifier> {
    Some(SnsNotifier::with_outbox(
        clients.sns.clone(),
        store.outbox(),
        settings.release_topic.clone()?,
        settings.incident_topic.clone(),
    ))
}

/// The wave coordinator: plans in this Region's table, each Region's shiftback found by the
/// stack name they share.
pub type Waves = std::sync::Arc<WaveCoordinator<ShiftbackRegions, DynamoStore>>;

/// The coordinator function's, from Lambda's environment (`RELEASE_TABLE`,
/// `REGIONAL_STACK_NAME`).
pub async fn wave_coordinator() -> Result<Waves, lambda_runtime::Error> {
    let config = lambda_config()?;
    let table = env("RELEASE_TABLE")?;
    let stack = env("REGIONAL_STACK_NAME")?;
    Ok(wave_coordinator_with(&config, &table, &stack))
}

/// The coordinator on `config`'s credentials and Region (the home Region, whose `table` keeps
/// the plans).
pub fn wave_coordinator_with(config: &aws_config::SdkConfig, table: &str, stack: &str) -> Waves {
    let plans = DynamoStore::new(aws_sdk_dynamodb::Client::new(config), table);
    std::sync::Arc::new(WaveCoordinator::new(
        ShiftbackRegions::new(config.clone(), stack),
        plans,
    ))
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

    fn clients() -> HandlerClients {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        HandlerClients::new(&config)
    }

    #[test]
    fn only_a_handler_holds_a_release_to_the_stacks_hook_pattern() {
        let request: StartRequest = serde_json::from_value(serde_json::json!({
            "function": "orders", "alias": "live", "target_version": "2",
            "strategy": "AllAtOnce", "hooks": {"pre_traffic": "smoke-test"}
        }))
        .unwrap();
        let settings = |caller| HandlerSettings {
            release_table: "releases".into(),
            hook_functions: Some("hook-*".into()),
            caller,
            ..HandlerSettings::default()
        };
        let handler = release_service_with(&clients(), &settings(Caller::Handler));
        let refused = handler.validate(request.clone()).unwrap_err();
        assert!(
            refused.to_string().contains("HookFunctionNames is hook-*"),
            "{refused}"
        );
        // The CLI does not know the stack's pattern; the workflow's start checks it.
        let operator = release_service_with(&clients(), &settings(Caller::Operator));
        assert!(operator.validate(request).is_ok());
    }
}
