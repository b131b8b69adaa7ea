//! The alias lock in DynamoDB: one winner of twenty concurrent starts, a repeated start, an
//! expired lock taken over on both records, a reopened release that holds none.

use super::*;

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
