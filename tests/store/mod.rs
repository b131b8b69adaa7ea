//! The release store against moto's DynamoDB: conditional writes, transactions and queries.

use chrono::{DateTime, Duration, Utc};
use shiftback::adapters::{DynamoStore, LockTakeover};
use shiftback::analysis::{alarm_name, AlarmKind};
use shiftback::domain::{
    AnalysisSettings, Input, Phase, Release, ReleaseKind, ReleaseSpec, Verdict,
};
use shiftback::Error;
use shiftback_integration_tests::{emulator, release_store, unique};

mod groups;

fn spec(function: &str, id: &str) -> ReleaseSpec {
    ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some(id.to_string()),
        function: function.to_string(),
        alias: "live".into(),
        stable_version: "1".into(),
        target_version: "2".into(),
        strategy: "linear:50:1m".parse().unwrap(),
        alarms: vec![format!("{function}-errors")],
        alarm_overrides: vec![],
        bake_after_secs: 300,
        started_by: "ci".into(),
        kind: ReleaseKind::Deploy,
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
    }
}

/// Which release holds the function's `live` alias.
async fn holder(store: &DynamoStore, function: &str) -> Option<String> {
    let lock = store.lock_holder(function, "live").await.unwrap();
    lock.map(|l| l.release_id)
}

/// The releases the function's alarm guards.
async fn guarded(store: &DynamoStore, function: &str) -> Vec<String> {
    let guards = store.guards_for_alarm(&format!("{function}-errors")).await;
    guards.unwrap().into_iter().map(|g| g.release_id).collect()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

#[tokio::test]
async fn a_release_round_trips_with_its_log_and_revisions() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let release = Release::new(spec(&function, "r-a"), at(0)).unwrap();
    let mut tracked = store.create(&release, at(0), None).await.unwrap();
    assert_eq!(tracked.release.revision, 1);

    tracked
        .release
        .apply(Input::Begin, at(1), "workflow")
        .unwrap();
    store.save(&mut tracked).await.unwrap();
    tracked
        .release
        .apply(Input::Check(Verdict::Healthy), at(61), "workflow")
        .unwrap();
    store.save(&mut tracked).await.unwrap();

    let loaded = store.load("r-a").await.unwrap();
    assert_eq!(loaded.release, tracked.release);
    assert_eq!(loaded.release.revision, 3);
    assert_eq!(loaded.stored_log_len(), loaded.release.log.len());
    let events: Vec<_> = loaded.release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(events, ["started", "weight_set", "health_checked"]);
    assert_eq!(loaded.release.phase, Phase::Promoting);
}

#[tokio::test]
async fn a_stale_save_is_refused_and_changes_nothing() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let release = Release::new(spec(&function, "r-b"), at(0)).unwrap();
    let mut first = store.create(&release, at(0), None).await.unwrap();
    let mut second = store.load("r-b").await.unwrap();

    first
        .release
        .apply(Input::Begin, at(1), "workflow")
        .unwrap();
    store.save(&mut first).await.unwrap();
    second
        .release
        .apply(
            Input::Abort {
                reason: "operator".into(),
            },
            at(2),
            "bob",
        )
        .unwrap();
    let err = store.save(&mut second).await.unwrap_err();
    assert!(
        matches!(err, Error::StaleRelease { expected: 1, .. }),
        "{err}"
    );
    assert!(err.is_retryable());

    let stored = store.load("r-b").await.unwrap().release;
    assert_eq!(stored.phase, Phase::Shifting { step: 0 });
    assert_eq!(
        stored.log.len(),
        2,
        "the loser's log entries were not written"
    );
}

#[tokio::test]
async fn alarm_guards_point_at_what_to_revert_and_outlive_success_for_the_bake_window() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let alarm = format!("{function}-errors");
    let release = Release::new(spec(&function, "r-i"), at(0)).unwrap();
    let mut tracked = store.create(&release, at(0), None).await.unwrap();

    let guards = store.guards_for_alarm(&alarm).await.unwrap();
    assert_eq!(guards.len(), 1);
    let guard = &guards[0];
    assert_eq!(
        (
            guard.release_id.as_str(),
            guard.function.as_str(),
            guard.alias.as_str()
        ),
        ("r-i", function.as_str(), "live")
    );
    assert_eq!(
        (guard.stable_version.as_str(), guard.target_version.as_str()),
        ("1", "2")
    );
    assert_eq!(guard.until, None);

    tracked.release.apply(Input::Begin, at(1), "wf").unwrap();
    tracked.release.apply(Input::Promote, at(2), "bob").unwrap();
    tracked.release.apply(Input::Promoted, at(3), "wf").unwrap();
    store.save(&mut tracked).await.unwrap();
    let guards = store.guards_for_alarm(&alarm).await.unwrap();
    assert_eq!(guards[0].until, Some(at(3 + 300)));
    assert!(store
        .guards_for_alarm("unrelated-alarm")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_alarm_named_twice_and_a_members_own_alarms_are_one_guard_each() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let alarm = format!("{function}-errors");
    let mut spec = spec(&function, &unique("r"));
    spec.alarms = vec![alarm.clone(), alarm.clone()];
    spec.analysis = AnalysisSettings::default();
    let mut release = Release::new(spec, at(0)).unwrap();
    let own = alarm_name(&release.id);
    release.analysis_alarm = Some(own.clone());
    release.analysis_alarm_kinds = AlarmKind::for_settings(&release.analysis);
    // One transaction: DynamoDB (and moto) refuse two operations on one item, and would
    // refuse the start with an opaque message if a guard were written twice.
    store.create(&release, at(0), None).await.unwrap();
    assert_eq!(store.guards_for_alarm(&alarm).await.unwrap().len(), 1);
    assert_eq!(store.guards_for_alarm(&own).await.unwrap().len(), 1);
    let latency = format!("{own}.latency");
    assert!(release.analysis_alarms().contains(&latency));
    assert!(
        store.guards_for_alarm(&latency).await.unwrap().is_empty(),
        "found through its error-rate alarm's guard"
    );
}

mod history;
mod locks;
