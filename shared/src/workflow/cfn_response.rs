//! Answers a CloudFormation custom resource request: one `PUT` of the response document to
//! the request's presigned `ResponseURL`, over the same rustls client the SDK uses.

use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse;
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use backon::{ExponentialBuilder, Retryable};

use crate::error::{AwsError, AwsErrorKind, Error, Result};

/// Attempts at the `PUT`: a response CloudFormation never receives leaves the stack waiting
/// an hour, so a transient failure is tried again (the same document: a second copy of it is
/// harmless, the presigned object is simply written again).
const ATTEMPTS: usize = 3;

pub struct CfnResponder {
    connector: Connector,
}

impl std::fmt::Debug for CfnResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CfnResponder")
    }
}

impl Default for CfnResponder {
    fn default() -> Self {
        CfnResponder {
            connector: Connector::builder()
                .tls_provider(crate::adapters::tls_provider())
                .build(),
        }
    }
}

impl crate::ports::CfnAnswers for CfnResponder {
    fn send(
        &self,
        url: &str,
        response: &CloudFormationCustomResourceResponse,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        CfnResponder::send(self, url, response)
    }
}

impl CfnResponder {
    /// `PUT`s `response` to `url`. The presigned URL is signed for no content type: the
    /// header is sent empty, as CloudFormation's own helpers do.
    pub async fn send(
        &self,
        url: &str,
        response: &CloudFormationCustomResourceResponse,
    ) -> Result<()> {
        let body = serde_json::to_vec(response).map_err(|e| Error::Corrupt(e.to_string()))?;
        let pauses = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_times(ATTEMPTS - 1);
        (|| self.put(url, &body))
            .retry(pauses)
            .sleep(tokio::time::sleep)
            .await
            .map_err(|message| {
                Error::Aws(AwsError {
                    operation: "PutCustomResourceResponse",
                    kind: AwsErrorKind::Transient,
                    code: None,
                    message,
                })
            })
    }

    /// One `PUT` of `body`; what went wrong, in words.
    async fn put(&self, url: &str, body: &[u8]) -> std::result::Result<(), String> {
        let mut request = HttpRequest::new(SdkBody::from(body.to_vec()));
        request.set_method("PUT").map_err(|e| e.to_string())?;
        request
            .set_uri(url)
            .map_err(|e| format!("invalid ResponseURL: {e}"))?;
        request.headers_mut().insert("content-type", "");
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        match tokio::time::timeout(Duration::from_secs(10), self.connector.call(request)).await {
            Ok(Ok(answer)) if answer.status().is_success() => Ok(()),
            Ok(Ok(answer)) => Err(format!("HTTP {}", answer.status().as_u16())),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Err(_) => Err("no answer within 10 s".into()),
        }
    }
}
