//! The traffic router over Lambda's API: moves a Lambda alias's traffic between two published versions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_lambda::Client;

pub use super::routing::AliasRouting;
use super::RateLimiter;
use crate::domain::Weight;
use crate::error::{AwsError, AwsErrorKind, Error, Result};
pub use crate::ports::{
    AliasRouter, AliasState, CodeLocation, Readiness, VersionFacts, VersionInfo,
};

#[derive(Clone, Debug)]
pub struct LambdaRouter {
    client: Client,
    /// Every Lambda control-plane call takes a token first.
    limiter: RateLimiter,
    /// How long to wait for a pending version before handing the retry to Step Functions.
    version_wait: std::time::Duration,
}

impl LambdaRouter {
    pub fn new(client: Client) -> Self {
        LambdaRouter {
            client,
            limiter: RateLimiter::lambda_control_plane(),
            version_wait: std::time::Duration::from_secs(20),
        }
    }

    /// Publishes `$LATEST` as a new version with `description` (its release's labels, cut to
    /// Lambda's 256 characters) and returns its number.
    pub async fn publish(&self, function: &str, description: &str) -> Result<String> {
        self.limiter.acquire().await;
        let description: String = description.chars().take(256).collect();
        let out = self
            .client
            .publish_version()
            .function_name(function)
            .set_description((!description.is_empty()).then_some(description))
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("PublishVersion", e),
                    function,
                    "$LATEST".to_string(),
                )
            })?;
        out.version()
            .map(str::to_string)
            .ok_or_else(|| Error::Corrupt("PublishVersion returned no version".into()))
    }

    /// Waits at most this long for a pending version (0: not at all).
    pub fn with_version_wait(mut self, wait: std::time::Duration) -> Self {
        self.version_wait = wait;
        self
    }
}

impl VersionFacts for LambdaRouter {
    async fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> Result<(usize, bool)> {
        self.limiter.acquire().await;
        super::durable::running_count(&self.client, function, version).await
    }

    async fn code_location(&self, function: &str, version: &str) -> Result<CodeLocation> {
        // GetFunction has a rate of its own (100 a second), not the control plane's 15.
        super::code::code_location(&self.client, function, version).await
    }
}

impl AliasRouter for LambdaRouter {
    /// The region the client calls, when configured.
    fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }

    async fn read(&self, function: &str, alias: &str) -> Result<AliasState> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("GetAlias", e),
                    function,
                    format!("alias {alias}"),
                )
            })?;
        alias_state(function, alias, &out)
    }

    /// The bare `UpdateAlias` call, unchecked: the revert's critical path uses it so that
    /// nothing stands between the alarm and the revert. Its answer is the alias as stored.
    async fn update(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> Result<AliasState> {
        check_routable(function, alias, routing)?;
        // An empty map is sent on purpose: UpdateAlias without RoutingConfig keeps the old one.
        let weights: HashMap<String, f64> = routing
            .extra
            .iter()
            .map(|(version, w)| (version.clone(), w.as_fraction()))
            .collect();
        let routing_config = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build();
        self.limiter.acquire().await;
        let out = self
            .client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&routing.version)
            .routing_config(routing_config)
            .set_revision_id(expected_revision.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("UpdateAlias", e),
                    function,
                    format!("alias {alias} or version {}", routing.version),
                )
            })?;
        alias_state(function, alias, &out)
    }

    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> Result<AliasState> {
        self.limiter.acquire().await;
        let out = self
            .client
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("CreateAlias", e),
                    function,
                    format!("version {version}"),
                )
            })?;
        alias_state(function, alias, &out)
    }

    /// One version's configuration: what a weighted alias needs both versions to share (the
    /// execution role, the dead-letter target), and whether it can take traffic yet.
    async fn version_info(&self, function: &str, version: &str) -> Result<VersionInfo> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("GetFunctionConfiguration", e),
                    function,
                    format!("version {version}"),
                )
            })?;
        Ok(VersionInfo {
            version: version.to_string(),
            role: out.role().unwrap_or_default().to_string(),
            dead_letter: out
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .map(str::to_string),
            state: out.state().map(|s| s.as_str().to_string()),
            state_reason: out.state_reason().map(str::to_string),
            last_update: out.last_update_status().map(|s| s.as_str().to_string()),
            capacity_provider: out
                .capacity_provider_config()
                .and_then(|c| c.lambda_managed_instances_capacity_provider_config())
                .map(|c| c.capacity_provider_arn().to_string()),
            durable: out.durable_config().is_some(),
        })
    }

    /// A version ready to take traffic: Lambda routes to a version only once its `State` is
    /// `Active` (a SnapStart version stays `Pending` while its snapshot is made) and its last
    /// update succeeded. A pending version is waited for with the SDK's own waiter, up to this
    /// router's version wait; still pending then, it is [`Error::NotReady`] (retryable).
    async fn ready_version(&self, function: &str, version: &str) -> Result<VersionInfo> {
        let info = self.version_info(function, version).await?;
        if !matches!(info.readiness(), Readiness::NotYet(_)) || self.version_wait.is_zero() {
            return info.into_ready(function);
        }
        use aws_sdk_lambda::client::Waiters;
        self.limiter.acquire().await;
        // Gives up quietly: the version is read once more below.
        let _ = self
            .client
            .wait_until_published_version_active()
            .function_name(function)
            .qualifier(version)
            .wait(self.version_wait)
            .await;
        self.version_info(function, version)
            .await?
            .into_ready(function)
    }

    /// `GetFunction` answers with the function's tags, by name or ARN alike (`ListTags` needs
    /// the ARN, which a name alone does not give). Lambda includes them only for a caller also
    /// allowed `lambda:ListTags`, and otherwise says why in `TagsError`: an error here, never
    /// read as "no tags" (which would refuse every function as not the stack's own).
    async fn function_tags(&self, function: &str) -> Result<BTreeMap<String, String>> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_function()
            .function_name(function)
            .send()
            .await
            .map_err(|e| {
                not_found_as(
                    AwsError::from_sdk("GetFunction", e),
                    function,
                    "the function".to_string(),
                )
            })?;
        if let Some(refused) = out.tags_error() {
            return Err(Error::Aws(AwsError {
                operation: "GetFunction",
                code: Some(refused.error_code().to_string()),
                message: format!(
                    "the tags of {function} were not returned (lambda:ListTags is needed with lambda:GetFunction): {}",
                    refused.message()
                ),
                kind: AwsErrorKind::Rejected,
            }));
        }
        Ok(out
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}

/// What `GetAlias`, `UpdateAlias` and `CreateAlias` answer alike: the alias as stored.
trait AliasAnswer {
    fn function_version(&self) -> Option<&str>;
    fn routing_config(&self) -> Option<&AliasRoutingConfiguration>;
    fn revision_id(&self) -> Option<&str>;
}

macro_rules! alias_answer {
    ($($output:ty),*) => {$(
        impl AliasAnswer for $output {
            fn function_version(&self) -> Option<&str> {
                self.function_version()
            }
            fn routing_config(&self) -> Option<&AliasRoutingConfiguration> {
                self.routing_config()
            }
            fn revision_id(&self) -> Option<&str> {
                self.revision_id()
            }
        }
    )*};
}

alias_answer!(
    aws_sdk_lambda::operation::get_alias::GetAliasOutput,
    aws_sdk_lambda::operation::update_alias::UpdateAliasOutput,
    aws_sdk_lambda::operation::create_alias::CreateAliasOutput
);

/// An alias as one of those answers describes it.
fn alias_state(function: &str, alias: &str, answer: &impl AliasAnswer) -> Result<AliasState> {
    let routing_config = answer.routing_config();
    let weights = routing_config
        .and_then(|r| r.additional_version_weights())
        .cloned()
        .unwrap_or_default();
    let extra = match weights.len() {
        0 => None,
        1 => {
            let (version, fraction) = weights.into_iter().next().expect("one entry");
            let weight = Weight::from_fraction(fraction).ok_or_else(|| {
                Error::Corrupt(format!("alias {function}:{alias} has weight {fraction}"))
            })?;
            Some((version, weight))
        }
        _ => {
            return Err(Error::Corrupt(format!(
                "alias {function}:{alias} routes to more than two versions"
            )))
        }
    };
    Ok(AliasState {
        routing: AliasRouting {
            version: answer.function_version().unwrap_or_default().to_string(),
            extra,
        },
        revision_id: answer.revision_id().map(str::to_string),
    })
}

fn not_found_as(err: AwsError, function: &str, what: String) -> Error {
    if err.kind == AwsErrorKind::NotFound {
        Error::NotFound {
            function: function.to_string(),
            what,
        }
    } else {
        Error::Aws(err)
    }
}

/// Lambda's rules for a weighted alias ([`AliasRouting::check`]), before the call, so the error
/// says which.
fn check_routable(function: &str, alias: &str, routing: &AliasRouting) -> Result<()> {
    routing.check().map_err(|reason| Error::InvalidRouting {
        function: function.to_string(),
        alias: alias.to_string(),
        reason,
    })
}
