//! A traffic hook's invocation, answer by answer, as Lambda returns them: a pass, a refusal, a
//! function that raised (`X-Amz-Function-Error`), a body that is not JSON, a hook that does not
//! exist, and Lambda throttling (an error for the step's retry, not the hook's failure).

use super::*;
use chrono::Utc;
use shiftback::adapters::LambdaHooks;
use shiftback::hooks::{HookPayload, HookPhase, HookVerdict};
use shiftback::ports::HookCaller;

fn payload() -> HookPayload {
    HookPayload {
        members: Vec::new(),
        release_id: "r-1".into(),
        phase: HookPhase::PreTraffic,
        function: "orders".into(),
        alias: "live".into(),
        stable_version: "6".into(),
        target_version: "7".into(),
        target_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders:7".into(),
        deadline: Utc::now(),
    }
}

fn answering(status: u16, function_error: Option<&'static str>, body: &'static str) -> Rule {
    mock!(LambdaClient::invoke)
        .match_requests(|r| {
            // The hook is told which version to exercise.
            let sent = r.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
            String::from_utf8_lossy(&sent).contains("function:orders:7")
        })
        .then_http_response(move || {
            let mut response = json_response(status, body);
            if let Some(kind) = function_error {
                response
                    .headers_mut()
                    .insert("x-amz-function-error", kind.to_string());
            }
            response
        })
}

async fn verdict(rule: &Rule) -> shiftback::Result<HookVerdict> {
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[rule], fast_retries);
    LambdaHooks::new(client, Some("*"), None)
        .call("orders-smoke", &payload())
        .await
}

#[tokio::test]
async fn a_hooks_answers_are_read_as_the_release_needs_them() {
    let passed = answering(200, None, r#"{"ok": true}"#);
    assert_eq!(verdict(&passed).await.unwrap(), HookVerdict::Passed);
    let refused = answering(200, None, r#"{"ok": false, "reason": "checkout 500s"}"#);
    assert_eq!(
        verdict(&refused).await.unwrap(),
        HookVerdict::Failed {
            reason: "checkout 500s".into()
        }
    );
    let raised = answering(
        200,
        Some("Unhandled"),
        r#"{"errorType": "Error", "errorMessage": "smoke test crashed"}"#,
    );
    match verdict(&raised).await.unwrap() {
        HookVerdict::Failed { reason } => {
            assert!(
                reason.contains("raised an error (Unhandled): smoke test crashed"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    let garbage = answering(200, None, "<html>oops</html>");
    assert!(matches!(
        verdict(&garbage).await.unwrap(),
        HookVerdict::Failed { reason } if reason.contains("not JSON")
    ));
}

#[tokio::test]
async fn a_missing_hook_fails_the_hook_and_throttling_is_retried_by_the_step() {
    let missing = mock!(LambdaClient::invoke)
        .then_http_response(|| lambda_error(404, "ResourceNotFoundException"));
    assert!(matches!(
        verdict(&missing).await.unwrap(),
        HookVerdict::Failed { reason } if reason.contains("could not be invoked")
    ));
    let throttled = mock!(LambdaClient::invoke)
        .sequence()
        .http_response(|| lambda_error(429, "TooManyRequestsException"))
        .repeatedly()
        .build();
    let err = verdict(&throttled).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(throttled.num_calls(), 3, "the SDK retried first");
}

/// A hook that runs past the call's time fails with that reason (it should have answered "not
/// yet"), on the wire: Lambda's endpoint here accepts the call and never answers.
#[tokio::test]
async fn a_hook_that_does_not_answer_in_time_fails() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    // The handlers' own configuration (HTTP client, credentials), sent to the silent endpoint.
    let env = shiftback_integration_tests::emulator().await;
    let config = aws_sdk_lambda::config::Builder::from(&env.config)
        .endpoint_url(endpoint)
        .build();
    let verdict = LambdaHooks::new(aws_sdk_lambda::Client::from_conf(config), Some("*"), None)
        .with_call_timeout(std::time::Duration::from_millis(500))
        .call("orders-smoke", &payload())
        .await
        .unwrap();
    held.abort();
    assert!(
        matches!(&verdict, HookVerdict::Failed { reason } if reason.contains("did not answer within 0.5s")),
        "{verdict:?}"
    );
}
