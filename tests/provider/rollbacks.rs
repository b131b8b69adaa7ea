//! A stack's rollback and its second deploy, against the emulator: the release its update
//! started aborted or reverted, a superseded release answered, and nothing brought back
//! that an alarm rejected.

use super::*;

#[tokio::test]
async fn a_stack_rolling_back_aborts_the_release_or_reverts_a_finished_one() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    s.deploy_version_2(&url).await;
    // Something else in the stack failed: CloudFormation sends the old version back.
    let back = s.update(&url, "1", "2", "linear:50:1h");
    s.provider.handle(back.clone(), 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "SUCCESS", "{put}");
    assert!(
        put["Data"]["Outcome"].as_str().unwrap().contains("aborted"),
        "{put}"
    );
    assert_eq!(s.alias("live").await, "version 1");

    // A release that succeeded, and then the stack rolls back: back at once, on the record.
    let url = ResponseUrl::start(0).await;
    let forward = s.update(&url, "3", "1", "steps:50@0s");
    s.provider.handle(forward, 0).await.unwrap();
    let (_, input) = s
        .executions()
        .await
        .into_iter()
        .find(|(_, i)| i["target_version"] == "3")
        .unwrap();
    assert_eq!(s.run_release(input, false).await, "succeeded");
    assert_eq!(s.alias("live").await, "version 3");
    let back = s.update(&url, "1", "3", "steps:50@0s");
    s.provider.handle(back, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(put["Data"]["Outcome"], "reverted", "{put}");
    assert_eq!(s.alias("live").await, "version 1");
}

#[tokio::test]
async fn deploying_twice_in_a_row_supersedes_and_the_stacks_rollback_is_answered() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let first_id = s.deploy_version_2(&url).await;

    // The fix, while the first release still moves the alias.
    let second = s.update(&url, "3", "2", "linear:50:1h");
    s.provider.handle(second, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "SUCCESS", "{put}");
    let second_id = put["Data"]["ReleaseId"].as_str().unwrap().to_string();
    let store = &s.provider.service.store;
    let superseded = store.load_summary(&first_id).await.unwrap();
    assert_eq!(superseded.phase.name(), "superseded");
    assert!(superseded.reason.unwrap().contains(&second_id));
    // Back on version 1, then the new release's first step from there.
    assert_eq!(s.alias("live").await, "version 1 with 50% on version 3");
    let (_, input) = s
        .executions()
        .await
        .into_iter()
        .find(|(name, _)| *name == second_id)
        .unwrap();
    assert_eq!(
        input["supersede"], true,
        "the workflow's start supersedes too"
    );
    s.workflow_start(input).await;
    assert_eq!(s.alias("live").await, "version 1 with 50% on version 3");

    // Another resource fails: CloudFormation rolls back to version 2, during its rollback.
    let back = s.update(&url, "2", "3", "linear:50:1h");
    let answered = s.handle_rolling_back(back).await;
    assert_eq!(status(&answered), "SUCCESS", "{answered}");
    assert_eq!(
        s.alias("live").await,
        "version 1",
        "the last version that ran well"
    );
    let aborted = store.load_summary(&second_id).await.unwrap();
    assert_eq!(aborted.phase.name(), "aborted");
    assert_eq!(
        s.executions().await.len(),
        2,
        "nothing started during the rollback"
    );
    // The stack can deploy again: no lock left.
    let lock = store.lock_holder(&s.function, "live").await.unwrap();
    assert_eq!(lock, None);
}

#[tokio::test]
async fn a_rollback_after_an_alarm_revert_starts_nothing_and_says_why() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let forward = s.update(&url, "2", "1", "steps:50@1s");
    s.provider.handle(forward, 0).await.unwrap();
    let (_, input) = s.executions().await.remove(0);
    assert_eq!(s.run_release(input, true).await, "rolled_back");
    set_alarm_state(&s.env, &s.alarm, StateValue::Ok, "recovered").await;
    assert_eq!(s.alias("live").await, "version 1");
    // The next deploy fails: a version that does not exist.
    let broken = s.update(&url, "9", "2", "steps:50@1s");
    s.provider.handle(broken, 0).await.unwrap();
    assert_eq!(status(&url.puts()[1].body), "FAILED");
    // CloudFormation's rollback names version 2, which the alarm rejected.
    let back = s.update(&url, "2", "9", "steps:50@1s");
    let answered = s.handle_rolling_back(back).await;
    assert_eq!(status(&answered), "SUCCESS", "{answered}");
    assert_eq!(answered["Data"]["Outcome"], "not released");
    assert!(
        answered["Reason"]
            .as_str()
            .unwrap()
            .contains("rolled it back"),
        "{answered}"
    );
    assert_eq!(s.alias("live").await, "version 1");
    assert_eq!(s.executions().await.len(), 1);
    // On the record, in the function's history.
    let history = s
        .provider
        .service
        .store
        .history(&s.function, 10, None)
        .await
        .unwrap();
    assert!(
        history.releases[0].was_declined(),
        "{:?}",
        history.releases[0]
    );
}

#[tokio::test]
async fn the_stack_status_is_read_from_cloudformation() {
    use shiftback::ports::StackStates as _;
    let s = setup().await;
    let stacks = &s.provider.stacks;
    assert_eq!(
        stacks.status(&s.stack_id).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    // A stack that cannot be read: None, and the provider decides from the records.
    let gone = "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/00000000";
    assert_eq!(stacks.status(gone).await, None);
}
