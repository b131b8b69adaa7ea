//! A function's published versions and everything that refers to them, for retention.
//! Every call takes a token from a budget of its own, well under Lambda's control-plane rate
//! (about 15 a second, shared by the account): a prune must leave room for a revert.

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};

use super::rules::{PublishedVersion, VersionUses};
use crate::domain::arn::Arn;
use crate::domain::{AliasRouting, Weight};
use crate::error::{AwsError, AwsErrorKind, Error, Result};
pub use crate::ports::{CodeLocation, CodeStorage, Deletion, VersionCatalog, VersionFacts};
use crate::router::RateLimiter;

pub use crate::router::durable::DurableExecution;

impl LambdaVersions {
    /// The durable executions RUNNING on `version` (`shiftback durable`), up to a thousand,
    /// and whether there are more.
    pub async fn running_durable_executions_list(
        &self,
        function: &str,
        version: &str,
    ) -> Result<(Vec<DurableExecution>, bool)> {
        crate::router::durable::running_list(&self.client, &self.limiter, function, version).await
    }
}

/// Requests a second a prune may make: a third of the account's control-plane rate.
pub const PRUNE_RPS: f64 = 5.0;

#[derive(Clone, Debug)]
pub struct LambdaVersions {
    client: Client,
    limiter: RateLimiter,
}

impl LambdaVersions {
    pub fn new(client: Client) -> Self {
        LambdaVersions {
            client,
            limiter: RateLimiter::new(PRUNE_RPS, PRUNE_RPS),
        }
    }
}

impl LambdaVersions {
    /// The resource policy of the function (`qualifier` None) or of one of its versions;
    /// None when it has none (Lambda answers ResourceNotFound).
    async fn policy(&self, function: &str, qualifier: Option<&str>) -> Result<Option<String>> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(out.policy().unwrap_or("{}").to_string())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws("GetPolicy", function, e)),
        }
    }
}

/// An SDK error, with "function not found" said as such.
fn aws<E>(operation: &'static str, function: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = AwsError::from_sdk(operation, e);
    if err.kind == AwsErrorKind::NotFound {
        Error::FunctionNotFound(function.to_string())
    } else {
        Error::Aws(err)
    }
}

/// The qualifier of a function ARN, if it names `function` (None: another function).
fn qualifier_of(function_arn: &str, function: &str) -> Option<Option<String>> {
    let resource = Arn::parse(function_arn)?
        .resource
        .strip_prefix("function:")?;
    match resource.split_once(':') {
        Some((name, qualifier)) if name == function => Some(Some(qualifier.to_string())),
        None if resource == function => Some(None),
        _ => None,
    }
}

/// Lambda's `LastModified` (`2026-11-23T10:00:00.000+0000`), or RFC 3339 (moto's).
fn last_modified(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?;
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A resource policy's `Allow` statements (one statement or a list); None for a policy that
/// is not JSON.
fn allowed_statements(policy: &str) -> Option<Vec<serde_json::Value>> {
    let policy = serde_json::from_str::<serde_json::Value>(policy).ok()?;
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    Some(
        statements
            .into_iter()
            .filter(|s| s["Effect"] == "Allow")
            .collect(),
    )
}

/// The AWS services the unqualified function's resource policy lets invoke it, by statement.
fn service_grants(policy: &str) -> Vec<(String, String)> {
    let Some(statements) = allowed_statements(policy) else {
        return Vec::new();
    };
    let mut grants = Vec::new();
    for statement in statements {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)").to_string();
        let services = match &statement["Principal"]["Service"] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        grants.extend(services.into_iter().map(|s| (sid.clone(), s)));
    }
    grants
}

/// Everyone a version's own resource policy allows (`sid: principal`, with the source the
/// grant is limited to): whoever it names calls the version by its ARN. A policy that cannot
/// be parsed is one grant of unknown scope, so that the version is kept.
fn policy_grants(policy: &str) -> Vec<String> {
    let Some(statements) = allowed_statements(policy) else {
        return vec!["a policy that could not be read".to_string()];
    };
    let mut grants = Vec::new();
    for statement in statements {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)");
        let principals: Vec<String> = match &statement["Principal"] {
            serde_json::Value::String(anyone) => vec![anyone.clone()],
            serde_json::Value::Object(kinds) => kinds
                .values()
                .flat_map(|v| match v {
                    serde_json::Value::String(s) => vec![s.clone()],
                    serde_json::Value::Array(list) => list
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let source = ["ArnLike", "StringEquals", "ArnEquals"]
            .iter()
            .find_map(|op| statement["Condition"][op]["AWS:SourceArn"].as_str())
            .map(|arn| format!(" from {arn}"))
            .unwrap_or_default();
        grants.extend(
            principals
                .into_iter()
                .map(|p| format!("{sid}: {p}{source}")),
        );
    }
    grants
}

/// Runs `$body` for every page of a listing (`$request`, a fluent builder), each page fetched
/// after a token from the budget.
macro_rules! each_page {
    ($self:ident, $request:expr, $operation:literal, $function:expr, |$page:ident| $body:block) => {{
        let mut pages = $request.into_paginator().send();
        loop {
            $self.limiter.acquire().await;
            let next = pages.try_next().await;
            let Some($page) = next.map_err(|e| aws($operation, $function, e))? else {
                break;
            };
            $body
        }
    }};
}

impl VersionFacts for LambdaVersions {
    async fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> Result<(usize, bool)> {
        self.limiter.acquire().await;
        crate::router::durable::running_count(&self.client, function, version).await
    }

    async fn code_location(&self, function: &str, version: &str) -> Result<CodeLocation> {
        self.limiter.acquire().await;
        crate::router::code::code_location(&self.client, function, version).await
    }
}

impl VersionCatalog for LambdaVersions {
    async fn versions(&self, function: &str) -> Result<Vec<PublishedVersion>> {
        let mut versions = Vec::new();
        let mut has_latest = false;
        let listing = self
            .client
            .list_versions_by_function()
            .function_name(function);
        each_page!(self, listing, "ListVersionsByFunction", function, |page| {
            for v in page.versions() {
                match v.version() {
                    Some("$LATEST") => has_latest = true,
                    Some(version) => versions.push(PublishedVersion {
                        version: version.to_string(),
                        code_size: v.code_size(),
                        last_modified: last_modified(v.last_modified()),
                        durable: v.durable_config().is_some(),
                        capacity_provider: v
                            .capacity_provider_config()
                            .and_then(|c| c.lambda_managed_instances_capacity_provider_config())
                            .map(|c| c.capacity_provider_arn().to_string()),
                    }),
                    None => {}
                }
            }
        });
        // Lambda lists $LATEST for every function; an empty answer is a function that does
        // not exist (moto answers so rather than with ResourceNotFound).
        if !has_latest {
            return Err(Error::FunctionNotFound(function.to_string()));
        }
        Ok(versions)
    }

    async fn uses(&self, function: &str) -> Result<VersionUses> {
        let mut uses = VersionUses::default();
        let listing = self.client.list_aliases().function_name(function);
        each_page!(self, listing, "ListAliases", function, |page| {
            for alias in page.aliases() {
                let name = alias.name().unwrap_or_default().to_string();
                let primary = alias.function_version().unwrap_or_default().to_string();
                uses.aliases
                    .push((name.clone(), AliasRouting::single(&primary)));
                let weights = alias
                    .routing_config()
                    .and_then(|r| r.additional_version_weights());
                // Every weighted version is kept, whatever its weight reads as.
                for (version, fraction) in weights.into_iter().flatten() {
                    let weight = Weight::from_fraction(*fraction).unwrap_or(Weight::ZERO);
                    let routing = AliasRouting {
                        version: primary.clone(),
                        extra: Some((version.clone(), weight)),
                    };
                    uses.aliases.push((name.clone(), routing));
                }
            }
        });

        // Listed for the whole region and matched by ARN: listing by function name may not
        // show mappings made on a version or an alias.
        let listing = self.client.list_event_source_mappings();
        each_page!(self, listing, "ListEventSourceMappings", function, |page| {
            for mapping in page.event_source_mappings() {
                let arn = mapping.function_arn().unwrap_or_default();
                if let Some(qualifier) = qualifier_of(arn, function) {
                    let id = mapping.uuid().unwrap_or_default().to_string();
                    uses.mappings.push((id, qualifier));
                }
            }
        });

        let listing = self
            .client
            .list_provisioned_concurrency_configs()
            .function_name(function);
        each_page!(
            self,
            listing,
            "ListProvisionedConcurrencyConfigs",
            function,
            |page| {
                for config in page.provisioned_concurrency_configs() {
                    let arn = config.function_arn().unwrap_or_default();
                    if let Some(Some(qualifier)) = qualifier_of(arn, function) {
                        uses.provisioned.push(qualifier);
                    }
                }
            }
        );

        let listing = self
            .client
            .list_function_url_configs()
            .function_name(function);
        each_page!(self, listing, "ListFunctionUrlConfigs", function, |page| {
            for url in page.function_url_configs() {
                if let Some(qualifier) = qualifier_of(url.function_arn(), function) {
                    uses.urls.push(qualifier);
                }
            }
        });
        Ok(uses)
    }

    async fn latest_invokers(&self, function: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .policy(function, None)
            .await?
            .map_or_else(Vec::new, |p| service_grants(&p)))
    }

    async fn version_grants(&self, function: &str, version: &str) -> Result<Vec<String>> {
        // No policy of its own: nobody calls it by ARN through one.
        Ok(self
            .policy(function, Some(version))
            .await?
            .map_or_else(Vec::new, |p| policy_grants(&p)))
    }

    async fn provider_versions(&self, provider: &str) -> Result<usize> {
        // The provider's name is the last part of its ARN (`...:capacity-provider:NAME`).
        let name = provider.rsplit(':').next().unwrap_or(provider);
        let mut count = 0;
        let listing = self
            .client
            .list_function_versions_by_capacity_provider()
            .capacity_provider_name(name);
        each_page!(
            self,
            listing,
            "ListFunctionVersionsByCapacityProvider",
            provider,
            |page| {
                count += page.function_versions().len();
            }
        );
        Ok(count)
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<Deletion> {
        self.limiter.acquire().await;
        let out = self
            .client
            .delete_function()
            .function_name(function)
            .qualifier(version)
            .send()
            .await;
        match out {
            Ok(_) => Ok(Deletion::Deleted),
            Err(e) => {
                let err = AwsError::from_sdk("DeleteFunction", e);
                match err.code.as_deref().unwrap_or_default() {
                    // An alias routes to it, or the function is mid-update: either way, kept.
                    "ResourceConflictException" => Ok(Deletion::Refused(err.message)),
                    "ResourceNotFoundException" => Ok(Deletion::AlreadyGone),
                    _ => Err(Error::Aws(err)),
                }
            }
        }
    }

    async fn code_storage(&self) -> Result<CodeStorage> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_account_settings()
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("GetAccountSettings", e)))?;
        Ok(CodeStorage {
            used: out.account_usage().map_or(0, |u| u.total_code_size()),
            limit: out.account_limit().map_or(0, |l| l.total_code_size()),
        })
    }
}

#[cfg(test)]
mod tests;
