//! One error type for the library, with the distinction every caller needs: may a retry help?

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::domain::wave::WaveError;
use crate::domain::{SpecError, StrategyError, TransitionError};

/// How an AWS failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The named resource does not exist.
    NotFound,
    /// A condition or revision check failed: someone else changed it first.
    Conflict,
    /// Throttled: retry with backoff.
    Throttled,
    /// 5xx, timeouts, connection failures: retry.
    Transient,
    /// The request was refused as invalid or unauthorised: retrying cannot help.
    Rejected,
}

/// A failed AWS call, reduced to what callers act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub operation: &'static str,
    pub kind: AwsErrorKind,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for AwsError {}

// Throttling and timeouts by the SDK's own lists (every service's codes for them).
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};

/// A condition or revision that no longer holds. Lambda's `ResourceConflictException` is not
/// one: it says an update of the function is in progress, which passes. A cancelled DynamoDB
/// transaction is classified by its cancellation reasons (see [`AwsError::from_transaction`]).
const CONFLICT: &[&str] = &[
    "PreconditionFailedException",
    "ConditionalCheckFailedException",
    "TransactionCanceledException",
    "ExecutionAlreadyExists",
];
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NotFoundException",
    "ExecutionDoesNotExist",
    "StateMachineDoesNotExist",
    "NotFound",
];
/// Failures that pass, beyond the SDK's [`TRANSIENT_ERRORS`] and HTTP 5xx: the services' own
/// names for an outage, and the conflicts that only mean "not now".
const TRANSIENT: &[&str] = &[
    "ServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    // Lambda: "The operation cannot be performed at this time. An update is in progress".
    "ResourceConflictException",
    // DynamoDB: another transaction holds one of the items right now.
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Cancellation reasons of a DynamoDB transaction that pass with time: contention with another
/// transaction, or throttling of one of its items.
const TRANSIENT_CANCELLATIONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

impl AwsError {
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = err.code().map(str::to_string);
        let message = err.message().map(str::to_string).unwrap_or_else(|| {
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string()
        });
        let kind = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => AwsErrorKind::Transient,
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = code.as_deref().unwrap_or_default();
                if TRANSIENT.contains(&code) {
                    // Before throttling: the SDK counts a transaction in progress as
                    // throttling, which here is contention that passes.
                    AwsErrorKind::Transient
                } else if THROTTLING_ERRORS.contains(&code) || status == 429 {
                    AwsErrorKind::Throttled
                } else if CONFLICT.contains(&code) || status == 412 {
                    AwsErrorKind::Conflict
                } else if NOT_FOUND.contains(&code) {
                    AwsErrorKind::NotFound
                } else if TRANSIENT_ERRORS.contains(&code) || status >= 500 {
                    AwsErrorKind::Transient
                } else {
                    AwsErrorKind::Rejected
                }
            }
            _ => AwsErrorKind::Rejected,
        };
        AwsError {
            operation,
            kind,
            code,
            message,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, AwsErrorKind::Throttled | AwsErrorKind::Transient)
    }

    /// A failed `TransactWriteItems`, given its cancellation reasons in item order. Only a
    /// failed condition is a conflict (someone else wrote first); a transaction cancelled for
    /// contention or throttling alone is transient, and any other reason (validation, size)
    /// is a rejection.
    pub fn from_transaction<E>(err: SdkError<E, HttpResponse>, reasons: &[String]) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut aws = AwsError::from_sdk("TransactWriteItems", err);
        let given: Vec<&str> = reasons
            .iter()
            .map(String::as_str)
            .filter(|r| *r != "None")
            .collect();
        if aws.code.as_deref() == Some("TransactionCanceledException") && !given.is_empty() {
            aws.kind = if given.contains(&"ConditionalCheckFailed") {
                AwsErrorKind::Conflict
            } else if given.iter().all(|r| TRANSIENT_CANCELLATIONS.contains(r)) {
                AwsErrorKind::Transient
            } else {
                AwsErrorKind::Rejected
            };
            aws.message = format!("{} (reasons: {})", aws.message, given.join(", "));
        }
        aws
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Wave(#[from] WaveError),
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("alias {function}:{alias} is held by release {holder} (started {since}); wait for it, or abort it with `shiftback abort {holder}`")]
    LockHeld {
        function: String,
        alias: String,
        holder: String,
        since: String,
    },
    #[error("release {0} already exists")]
    ReleaseExists(String),
    #[error("release {0} not found")]
    ReleaseNotFound(String),
    #[error("release {id} was changed by someone else (expected revision {expected}); reload and decide again")]
    StaleRelease { id: String, expected: u64 },
    #[error("function {0} does not exist in this account and region")]
    FunctionNotFound(String),
    #[error("function {function} has no {what}")]
    NotFound { function: String, what: String },
    #[error("cannot route {function}:{alias}: {reason}")]
    InvalidRouting {
        function: String,
        alias: String,
        reason: String,
    },
    #[error("alias {function}:{alias} is {actual}, but release {release} expected {expected}; it was changed outside this release, which stops here")]
    UnexpectedAlias {
        function: String,
        alias: String,
        release: String,
        expected: String,
        actual: String,
    },
    #[error("alias {function}:{alias} reads back as {actual} after being set to {expected}")]
    VerifyFailed {
        function: String,
        alias: String,
        expected: String,
        actual: String,
    },
    #[error("alarm(s) not found: {}", .0.join(", "))]
    AlarmsMissing(Vec<String>),
    #[error("alarm(s) already in ALARM: {}; fix them, or name them as an override to deploy through them", .0.join(", "))]
    AlarmsFiring(Vec<String>),
    #[error("version {version} of {function} was never recorded as good (a succeeded release's target, or the stable version a release started from); see `shiftback history {function}`")]
    NotKnownGood { function: String, version: String },
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// The workflow came to wait at a gate the release has already left (approved, promoted
    /// or aborted meanwhile): the wait ends at once and the next look finds the release.
    #[error("release {0} is no longer at its gate")]
    GateClosed(String),
    #[error("the step ran out of time after {budget_ms} ms (slow AWS answers); it is retried")]
    OutOfTime { budget_ms: u64 },
    #[error("the handler panicked: {0}")]
    Panicked(String),
    /// A regional release caught between two states (its workflow started, its record not yet
    /// written): the coordinator's next look decides again.
    #[error("{0}; looked at again")]
    Unsettled(String),
    #[error("version {version} of {function} cannot take traffic yet: {state}; retried until it is ready")]
    NotReady {
        function: String,
        version: String,
        state: String,
    },
}

impl Error {
    /// Whether the same call may succeed later (Step Functions retries these).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Aws(aws) => aws.is_retryable(),
            Error::StaleRelease { .. }
            | Error::OutOfTime { .. }
            | Error::NotReady { .. }
            | Error::Unsettled(_) => true,
            _ => false,
        }
    }

    /// A stable name for Step Functions `Retry`/`Catch` and for exit codes.
    pub fn error_type(&self) -> &'static str {
        // Retried on its own, slower schedule: a snapshot can take minutes.
        if let Error::NotReady { .. } = self {
            return "Shiftback.NotReady";
        }
        if self.is_retryable() {
            return "Shiftback.Retryable";
        }
        match self {
            Error::LockHeld { .. } | Error::AlarmsFiring(_) | Error::ReleaseExists(_) => {
                "Shiftback.Refused"
            }
            Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. } => "Shiftback.Conflict",
            Error::Aws(_) => "Shiftback.AwsError",
            Error::Panicked(_) => "Shiftback.Panicked",
            Error::GateClosed(_) => "Shiftback.GateClosed",
            _ => "Shiftback.Invalid",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn kind_of(code: &str, status: u16) -> AwsErrorKind {
        let err =
            UpdateAliasError::generic(ErrorMetadata::builder().code(code).message("m").build());
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        AwsError::from_sdk("UpdateAlias", SdkError::service_error(err, raw)).kind
    }

    #[test]
    fn throttling_and_timeouts_are_known_by_the_sdks_own_codes() {
        // On the SDK's list, not on the one this crate kept before it: no longer terminal.
        assert!(matches!(kind_of("SlowDown", 400), AwsErrorKind::Throttled));
        assert!(matches!(
            kind_of("TooManyRequestsException", 429),
            AwsErrorKind::Throttled
        ));
        assert!(matches!(
            kind_of("RequestTimeoutException", 400),
            AwsErrorKind::Transient
        ));
        // Contention that passes, though the SDK counts it as throttling.
        assert!(matches!(
            kind_of("TransactionInProgressException", 400),
            AwsErrorKind::Transient
        ));
        assert!(matches!(
            kind_of("AccessDeniedException", 403),
            AwsErrorKind::Rejected
        ));
    }
}
