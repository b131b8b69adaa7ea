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
async fn twenty_concurrent_starts_on_one_alias_have_exactly_one_winner() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let attempts = (0..20).map(|i| {
        let store = store.clone();
        let release = Release::new(spec(&function, &format!("r-c{i}")), at(0)).unwrap();
        async move { store.create(&release, at(0), None).await }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = &winners[0].release.id;
    for result in &results {
        if let Err(err) = result {
            match err {
                Error::LockHeld { holder, .. } => assert_eq!(holder, winner),
                other => panic!("unexpected error: {other}"),
            }
            assert!(
                err.to_string()
                    .contains(&format!("shiftback abort {winner}")),
                "{err}"
            );
        }
    }
    let holder = store.lock_holder(&function, "live").await.unwrap().unwrap();
    assert_eq!(&holder.release_id, winner);
    // That a refused start leaves nothing behind is checked sequentially elsewhere: moto
    // emulates a transaction by snapshot and restore, so under this much concurrency a restore
    // can resurrect another loser's half-written items, which real DynamoDB never does.
}

#[tokio::test]
async fn a_repeated_start_is_recognised_and_the_lock_is_freed_at_the_end() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let release = Release::new(spec(&function, "r-d"), at(0)).unwrap();
    let mut tracked = store.create(&release, at(0), None).await.unwrap();
    let again = store.create(&release, at(0), None).await.unwrap_err();
    assert!(
        matches!(again, Error::ReleaseExists(ref id) if id == "r-d"),
        "{again}"
    );

    tracked.release.apply(Input::Begin, at(1), "wf").unwrap();
    tracked
        .release
        .apply(
            Input::Abort {
                reason: "no".into(),
            },
            at(2),
            "bob",
        )
        .unwrap();
    tracked
        .release
        .apply(Input::RolledBack, at(3), "wf")
        .unwrap();
    store.save(&mut tracked).await.unwrap();
    assert_eq!(holder(&store, &function).await, None);
    assert!(guarded(&store, &function).await.is_empty());

    // The alias is free for the next release.
    let next = Release::new(spec(&function, "r-e"), at(10)).unwrap();
    store.create(&next, at(10), None).await.unwrap();
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_on_the_record_of_both_releases() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let mut stuck = Release::new(spec(&function, "r-f"), at(0)).unwrap();
    stuck.apply(Input::Begin, at(0), "workflow").unwrap();
    store.create(&stuck, at(0), None).await.unwrap();
    let next = Release::new(spec(&function, "r-g"), at(60)).unwrap();
    assert!(matches!(
        store.create(&next, at(60), None).await,
        Err(Error::LockHeld { .. })
    ));
    // The refused start left nothing behind.
    assert!(matches!(
        store.load("r-g").await,
        Err(Error::ReleaseNotFound(_))
    ));
    let expired = store.lock_holder(&function, "live").await.unwrap().unwrap();
    let much_later = at(0) + Duration::days(2);
    assert!(expired.expires_at < much_later);

    let mut broken = store.load("r-f").await.unwrap();
    let lost = Input::LockBroken {
        by: "r-h".into(),
        expired_at: expired.expires_at,
    };
    broken.release.apply(lost, much_later, "ci").unwrap();
    let mut next = Release::new(spec(&function, "r-h"), much_later).unwrap();
    let take_over = Input::TakeOverLock {
        from: "r-f".into(),
        expired_at: expired.expires_at,
    };
    next.apply(take_over, much_later, "workflow").unwrap();
    // A takeover naming the wrong holder takes nothing.
    let wrong = LockTakeover {
        holder: "r-zz",
        broken: None,
    };
    assert!(matches!(
        store.create(&next, much_later, Some(wrong)).await,
        Err(Error::LockHeld { .. })
    ));
    let takeover = LockTakeover {
        holder: "r-f",
        broken: Some(&broken),
    };
    store
        .create(&next, much_later, Some(takeover))
        .await
        .unwrap();
    assert_eq!(holder(&store, &function).await.as_deref(), Some("r-h"));
    let old = store.load("r-f").await.unwrap();
    assert_eq!(old.release.phase, Phase::Failed);
    assert_eq!(old.release.log.last().unwrap().event.name(), "lock_broken");
    assert!(old.release.reason.unwrap().contains("r-h"));
    // The old release's guards went with it; the new one's are in place.
    assert_eq!(guarded(&store, &function).await, ["r-h"]);
    let new = store.load("r-h").await.unwrap();
    let events: Vec<_> = new.release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(events, ["started", "lock_taken_over"]);

    // The old release's own workflow, waking up late, cannot write over the break.
    let mut late = broken.clone();
    late.release = stuck.clone();
    late.release.revision = 1;
    assert!(matches!(
        store.save(&mut late).await,
        Err(Error::StaleRelease { .. })
    ));
}

#[tokio::test]
async fn a_release_reopened_in_its_bake_window_ends_without_touching_the_next_lock() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let mut first = Release::new(spec(&function, "r-k"), at(0)).unwrap();
    first.apply(Input::Promote, at(0), "ci").unwrap();
    let mut tracked = store.create(&first, at(0), None).await.unwrap();
    tracked.release.apply(Input::Promoted, at(1), "wf").unwrap();
    store.save(&mut tracked).await.unwrap();
    // The next release takes the alias during the first one's bake window.
    let second = Release::new(spec(&function, "r-l"), at(5)).unwrap();
    store.create(&second, at(5), None).await.unwrap();

    let mut reopened = store.load("r-k").await.unwrap();
    let alarm = Input::Alarm {
        alarm: format!("{function}-errors"),
        reason: "errors".into(),
    };
    reopened.release.apply(alarm, at(10), "alarm").unwrap();
    store.save(&mut reopened).await.unwrap();
    let mut reopened = store.load("r-k").await.unwrap();
    reopened
        .release
        .apply(Input::RolledBack, at(11), "alarm")
        .unwrap();
    store.save(&mut reopened).await.unwrap();
    assert_eq!(reopened.release.phase, Phase::RolledBack);
    assert_eq!(holder(&store, &function).await.as_deref(), Some("r-l"));
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
async fn history_is_newest_first_and_paginates() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    for i in 0..5 {
        let mut s = spec(&function, &format!("r-{i}"));
        s.alias = format!("alias{i}");
        let release = Release::new(s, at(i * 100)).unwrap();
        store.create(&release, at(i * 100), None).await.unwrap();
    }
    // Another function's releases stay out of this history.
    let other = Release::new(spec(&unique("other"), "r-x"), at(1000)).unwrap();
    store.create(&other, at(1000), None).await.unwrap();

    let mut ids = Vec::new();
    let mut page = None;
    loop {
        let result = store.history(&function, 2, page.as_deref()).await.unwrap();
        assert!(result.releases.len() <= 2);
        ids.extend(result.releases.iter().map(|r| r.id.clone()));
        match result.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    assert_eq!(ids, ["r-4", "r-3", "r-2", "r-1", "r-0"]);
}

#[tokio::test]
async fn a_finished_release_imports_into_history_once_and_a_live_one_is_refused() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let function = unique("orders");
    let mut live = Release::new(spec(&function, "r-m"), at(0)).unwrap();
    live.apply(Input::Promote, at(0), "ci").unwrap();
    assert!(matches!(
        store.import_finished(&live).await,
        Err(Error::BadRequest(_))
    ));
    assert!(matches!(
        store.load("r-m").await,
        Err(Error::ReleaseNotFound(_))
    ));
    live.apply(Input::Promoted, at(30), "ci").unwrap();
    store.import_finished(&live).await.unwrap();
    let loaded = store.load("r-m").await.unwrap();
    assert_eq!(loaded.release.log, live.log);
    assert_eq!(loaded.release.phase, Phase::Succeeded);
    assert_eq!(
        store
            .history(&function, 10, None)
            .await
            .unwrap()
            .releases
            .len(),
        1
    );
    // No lock, no guard: importing touches only history.
    assert_eq!(holder(&store, &function).await, None);
    assert!(guarded(&store, &function).await.is_empty());
    // Importing again changes nothing, even with a different record.
    let mut other = live.clone();
    other.started_by = "someone else".into();
    store.import_finished(&other).await.unwrap();
    assert_eq!(store.load("r-m").await.unwrap().release.started_by, "ci");
}

/// `shiftback list`'s read: the releases running or in their bake window, from the sparse
/// index, newest first; a release leaves it when it closes, and a baked one is past its key.
#[tokio::test]
async fn open_releases_are_those_running_or_in_their_bake_window_newest_first() {
    let env = emulator().await;
    let store = release_store(&env).await;
    assert!(store.open_releases(Utc::now()).await.unwrap().is_empty());
    let now = Utc::now();
    // Each on a function of its own, started a minute apart (the oldest first).
    let mut started = Vec::new();
    for (n, input) in ["run", "pause", "bake", "baked", "abort"]
        .iter()
        .enumerate()
    {
        let function = unique("fn");
        let created = now - Duration::minutes(10 - n as i64);
        let release = Release::new(spec(&function, &unique(input)), created).unwrap();
        let mut tracked = store.create(&release, created, None).await.unwrap();
        tracked.release.apply(Input::Begin, created, "ci").unwrap();
        let steps: Vec<(Input, DateTime<Utc>)> = match *input {
            "pause" => vec![(Input::Pause, created)],
            // spec(): a 300 s bake window; this one's is open, the next one's closed.
            "bake" => vec![(Input::Promote, created), (Input::Promoted, now)],
            "baked" => vec![
                (Input::Promote, created),
                (Input::Promoted, now - Duration::seconds(301)),
            ],
            "abort" => vec![
                (
                    Input::Abort {
                        reason: "no".into(),
                    },
                    created,
                ),
                (Input::RolledBack, created),
            ],
            _ => vec![],
        };
        for (input, at) in steps {
            tracked.release.apply(input, at, "ci").unwrap();
        }
        store.save(&mut tracked).await.unwrap();
        started.push(tracked.release.id.clone());
    }
    let open: Vec<String> = store
        .open_releases(Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        open,
        [started[2].clone(), started[1].clone(), started[0].clone()]
    );
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
