//! The one-release-per-alias lock across workflows: expiry, takeover, renewal, spellings.

use super::*;

#[tokio::test]
async fn a_start_breaks_an_expired_lock_on_the_record_and_the_old_workflow_just_ends() {
    let f = fixture().await;
    // A release whose workflow died long ago, still holding the alias.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(3);
    let stuck = recorded_at(&f, long_ago, vec![f.alarm.clone()]).await;

    let outcome = f.service.start(request(&f, "linear:50:1m")).await.unwrap();
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(50.0)));
    let holder = f
        .service
        .store
        .lock_holder(&f.function, "live")
        .await
        .unwrap();
    assert_eq!(holder.unwrap().release_id, outcome.release_id);

    let old = f.service.store.load(&stuck.id).await.unwrap().release;
    assert_eq!(old.phase, Phase::Failed);
    let last = old.log.last().unwrap();
    assert_eq!(last.event.name(), "lock_broken");
    assert!(old.reason.unwrap().contains(&outcome.release_id));
    let new = f.service.store.load(&outcome.release_id).await.unwrap();
    let events: Vec<_> = new.release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(events, ["started", "lock_taken_over", "weight_set"]);

    // The old workflow, waking up, finds its release over and leaves the alias alone.
    let late = f.service.advance(step_of(&stuck.id)).await.unwrap();
    assert_eq!(late.next, Next::Done);
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(50.0)));
}

fn step_of(release_id: &str) -> StepInput {
    StepInput {
        gate_expired: false,
        task_token: None,
        release_id: Some(release_id.to_string()),
        error: None,
    }
}

#[tokio::test]
async fn one_function_under_two_spellings_is_one_alias() {
    let f = fixture().await;
    let mut by_arn = request(&f, "canary:10:10m");
    by_arn.function = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        f.function
    );
    let first = f.service.start(by_arn).await.unwrap();
    // The same alias by its bare name: the same lock, so refused while the first runs.
    let err = f
        .service
        .start(request(&f, "canary:10:10m"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    let mut partial = request(&f, "canary:10:10m");
    partial.function = format!("123456789012:function:{}", f.function);
    let err = f.service.start(partial).await.unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    // Recorded under the one name, so history finds it by that name.
    let history = f
        .service
        .store
        .history(&f.function, 10, None)
        .await
        .unwrap();
    assert_eq!(history.releases.len(), 1);
    assert_eq!(history.releases[0].id, first.release_id);
    assert_eq!(history.releases[0].function, f.function);
    // An ARN of another region is not this stack's to release.
    let mut elsewhere = request(&f, "canary:10:10m");
    elsewhere.function = format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:{}",
        f.function
    );
    let err = f.service.start(elsewhere).await.unwrap_err();
    assert!(err.to_string().contains("eu-west-1"), "{err}");
}

/// A release recorded as started at `at` (its lock counted from then), with nothing applied.
async fn recorded_at(
    f: &Fixture,
    at: chrono::DateTime<chrono::Utc>,
    alarms: Vec<String>,
) -> shiftback::domain::Release {
    let spec = shiftback::domain::ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some(shiftback_integration_tests::unique("r-old")),
        function: f.function.clone(),
        alias: "live".into(),
        stable_version: "1".into(),
        target_version: "2".into(),
        strategy: "linear:50:1m".parse().unwrap(),
        alarms,
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "old-pipeline".into(),
        kind: Default::default(),
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
    };
    let mut release = shiftback::domain::Release::new(spec, at).unwrap();
    release
        .apply(shiftback::domain::Input::Begin, at, "workflow")
        .unwrap();
    f.service.store.create(&release, at, None).await.unwrap();
    release
}

#[tokio::test]
async fn a_lock_just_past_its_expiry_by_the_callers_clock_is_not_broken() {
    // The lock lasts the schedule (2 minutes) plus 6 hours; by this caller's clock it expired
    // a minute ago, which a clock a few minutes fast would also say of a live lock.
    let f = fixture().await;
    let held_for = chrono::Duration::seconds(120 + 6 * 3600 + 60);
    let old = recorded_at(&f, chrono::Utc::now() - held_for, vec![]).await;
    let err = f
        .service
        .start(request(&f, "linear:50:1m"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    let holder = f
        .service
        .store
        .lock_holder(&f.function, "live")
        .await
        .unwrap();
    assert_eq!(holder.unwrap().release_id, old.id);
}

#[tokio::test]
async fn every_look_at_a_paused_release_renews_its_lock() {
    let f = fixture().await;
    let first = f.service.start(request(&f, "linear:50:1m")).await.unwrap();
    f.service
        .control(&first.release_id, Control::Pause, "bob")
        .await
        .unwrap();
    let expiry = || async {
        f.service
            .store
            .lock_holder(&f.function, "live")
            .await
            .unwrap()
            .unwrap()
            .expires_at
    };
    let before = expiry().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let look = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(look.phase, "paused");
    assert!(expiry().await > before, "a paused release keeps its alias");
}
