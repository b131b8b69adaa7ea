//! What CloudFormation is answered, against the emulator: FAILED with the reason for a refused
//! release or a stack that does not own the function, and `Wait: true` answered when the
//! workflow ends.

use super::*;

#[tokio::test]
async fn a_refused_release_answers_failed_with_the_reason_and_changes_nothing() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let missing = s.update(&url, "9", "1", "linear:50:1m");
    let answered = s.provider.handle(missing, 0).await.unwrap().now().unwrap();
    let put = &url.puts()[0].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("version 9"),
        "{put}"
    );
    assert_eq!(
        answered.physical_resource_id,
        format!("{}:live", s.function)
    );
    assert!(s.executions().await.is_empty());
    assert_eq!(s.alias("live").await, "version 1");
    // Properties that are not a release: FAILED too, with what is wrong.
    let bad = s.request(
        "create",
        &url.url,
        &unique("req"),
        json!({"Alias": "live"}),
        None,
    );
    s.provider.handle(bad, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("FunctionName"),
        "{put}"
    );
    // A wait longer than CloudFormation's hour (ten 10-minute steps): refused up front.
    let long = s.request(
        "update",
        &url.url,
        &unique("req"),
        s.props("live", "2", "linear:10:10m", true),
        Some(s.props("live", "1", "linear:10:10m", false)),
    );
    s.provider.handle(long, 0).await.unwrap();
    let put = &url.puts()[2].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("Wait: true"),
        "{put}"
    );
    assert!(s.executions().await.is_empty());
}

#[tokio::test]
async fn wait_true_is_answered_when_the_workflow_ends_success_or_failed_it_rolled_back() {
    let s = setup().await;
    for (version, alarm_fires, expected) in [("2", false, "SUCCESS"), ("3", true, "FAILED")] {
        let url = ResponseUrl::start(0).await;
        let current = s
            .alias("live")
            .await
            .trim_start_matches("version ")
            .to_string();
        let update = s.request(
            "update",
            &url.url,
            &unique("req"),
            s.props("live", version, "steps:50@1s", true),
            Some(s.props("live", &current, "steps:50@1s", true)),
        );
        // The provider's invocation ends at once, its answer left to the release's end.
        let left = s.provider.serve(update, 0).await.unwrap();
        let id = left["when_release_ends"]["release_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{left}"))
            .to_string();
        assert!(url.puts().is_empty(), "no answer while the release runs");
        let (_, input) = s
            .executions()
            .await
            .into_iter()
            .find(|(name, _)| *name == id)
            .unwrap();
        let phase = s.run_release(input, alarm_fires).await;
        assert!(
            url.puts().is_empty(),
            "{phase}: answered by the workflow's end"
        );
        // The workflow's end (EventBridge), read from the release record in DynamoDB.
        let status_change = execution_ended(&s.machine, &id, "SUCCEEDED");
        s.provider.serve(status_change, 0).await.unwrap();
        let put = &url.puts()[0].body;
        assert_eq!(status(put), expected, "{phase}: {put}");
        assert_eq!(put["Data"]["ReleaseId"], id.as_str());
        if alarm_fires {
            assert!(
                put["Reason"].as_str().unwrap().contains("rolled_back"),
                "{put}"
            );
            set_alarm_state(&s.env, &s.alarm, StateValue::Ok, "recovered").await;
        }
        // The presigned URL is kept on the record only for the answer.
        let record = s.provider.service.store.load_summary(&id).await.unwrap();
        assert!(record.answer_to.is_some());
    }
    assert_eq!(s.alias("live").await, "version 2");
}

#[tokio::test]
async fn a_request_from_a_stack_that_does_not_own_the_function_changes_nothing() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let mut request = s.update(&url, "2", "1", "linear:50:1h");
    request["StackId"] =
        json!("arn:aws:cloudformation:us-east-1:123456789012:stack/other-team/0f0f0f0f");
    s.provider.handle(request, 0).await.unwrap();
    let put = &url.puts()[0].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("may not release"),
        "{put}"
    );
    assert!(s.executions().await.is_empty());
    assert_eq!(s.alias("live").await, "version 1");
    let history = s
        .provider
        .service
        .store
        .history(&s.function, 10, None)
        .await
        .unwrap();
    assert!(history.releases.is_empty());
}
