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
    StepInput::of(release_id)
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

/// The fixture's release service on a machine whose own clock is `local` (an operator's
/// laptop running `shiftback rollback` or `plan`), over the same table and functions.
fn service_on_clock(f: &Fixture, local: fn() -> chrono::DateTime<chrono::Utc>) -> ReleaseService {
    ReleaseService::new(
        LambdaRouter::new(f.env.lambda.clone()),
        shiftback::adapters::DynamoStore::with_caller_clock(
            f.env.dynamodb.clone(),
            f.service.store.table(),
            local,
        ),
        CloudWatchHealth::new(f.env.cloudwatch.clone()),
    )
}

#[tokio::test]
async fn a_live_lock_is_not_broken_by_a_caller_whose_clock_is_hours_fast() {
    let f = fixture().await;
    // Held for its 2-minute schedule plus 6 hours, by the table's clock.
    let live = f.service.start(request(&f, "linear:50:1m")).await.unwrap();
    // By this laptop's clock the lock expired an hour ago; by the table's it has hours to go.
    let laptop = service_on_clock(&f, || chrono::Utc::now() + chrono::Duration::hours(7));
    let plan = laptop
        .preflight(request(&f, "AllAtOnce"))
        .await
        .unwrap_err();
    assert!(matches!(plan, Error::LockHeld { .. }), "{plan}");
    let err = laptop.start(request(&f, "AllAtOnce")).await.unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    let holder = f.service.store.lock_holder(&f.function, "live").await;
    assert_eq!(holder.unwrap().unwrap().release_id, live.release_id);
    let release = f.service.store.load(&live.release_id).await.unwrap();
    assert_eq!(release.release.phase, Phase::Shifting { step: 0 });
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_by_a_caller_whose_clock_is_hours_slow() {
    let f = fixture().await;
    // The lock lasts the schedule (2 minutes) plus 6 hours: on the table's clock it expired a
    // minute ago; on this laptop's clock, 3 hours behind, it still has 2 hours to go.
    let held_for = chrono::Duration::seconds(120 + 6 * 3600 + 60);
    let old = recorded_at(&f, chrono::Utc::now() - held_for, vec![]).await;
    let laptop = service_on_clock(&f, || chrono::Utc::now() - chrono::Duration::hours(3));
    let outcome = laptop.start(request(&f, "linear:50:1m")).await.unwrap();
    let holder = f.service.store.lock_holder(&f.function, "live").await;
    let holder = holder.unwrap().unwrap();
    assert_eq!(holder.release_id, outcome.release_id);
    let broken = f.service.store.load(&old.id).await.unwrap().release;
    assert_eq!(broken.log.last().unwrap().event.name(), "lock_broken");
    // What the laptop recorded is on the table's clock too: the new lock runs from now, not
    // from three hours ago (which would leave it expiring early for the next caller).
    let drift = (holder.acquired_at - chrono::Utc::now())
        .num_seconds()
        .abs();
    assert!(drift < 60, "lock taken {drift} s from now");
    let new = f.service.store.load(&outcome.release_id).await.unwrap();
    let drift = (new.release.created_at - chrono::Utc::now())
        .num_seconds()
        .abs();
    assert!(drift < 60, "release recorded {drift} s from now");
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
