//! A group's locks, guards and history on the wire: one transaction, all or none.

use super::*;

fn group_spec(functions: &[String], id: &str) -> ReleaseSpec {
    ReleaseSpec {
        members: functions[1..]
            .iter()
            .map(|f| shiftback::domain::Member {
                function: f.clone(),
                alias: "live".into(),
                stable_version: "1".into(),
                target_version: "2".into(),
            })
            .collect(),
        // No analysis alarm here: one guard, the first function's alarm.
        ..spec(&functions[0], id)
    }
}

#[tokio::test]
async fn a_group_takes_every_lock_in_one_transaction_or_none() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let now = Utc::now();
    let functions: Vec<String> = (0..3).map(|_| unique("fn")).collect();
    // The third member's alias is held by a release of its own.
    let single = Release::new(spec(&functions[2], &unique("r")), now).unwrap();
    store.create(&single, now, None).await.unwrap();
    let group = Release::new(group_spec(&functions, &unique("r")), now).unwrap();
    let err = store.create(&group, now, None).await.unwrap_err();
    assert!(
        matches!(&err, Error::LockHeld { function, holder, .. } if *function == functions[2] && *holder == single.id),
        "{err}"
    );
    // All or nothing on the wire: no other member's lock, no release, no guard.
    assert_eq!(holder(&store, &functions[0]).await, None);
    assert_eq!(holder(&store, &functions[1]).await, None);
    assert!(matches!(
        store.load(&group.id).await,
        Err(Error::ReleaseNotFound(_))
    ));
    assert!(guarded(&store, &functions[0]).await.is_empty());

    // Free, the group takes them all; its guard carries every member for the alarm path;
    // its end gives every lock up.
    let free: Vec<String> = (0..3).map(|_| unique("fn")).collect();
    let group = Release::new(group_spec(&free, &unique("r")), now).unwrap();
    let mut tracked = store.create(&group, now, None).await.unwrap();
    for function in &free {
        assert_eq!(
            holder(&store, function).await.as_deref(),
            Some(group.id.as_str())
        );
    }
    let guards = store
        .guards_for_alarm(&format!("{}-errors", free[0]))
        .await
        .unwrap();
    let members: Vec<&str> = guards[0]
        .members
        .iter()
        .map(|m| m.function.as_str())
        .collect();
    assert_eq!(members, [free[1].as_str(), free[2].as_str()]);
    tracked
        .release
        .apply(
            Input::Abort {
                reason: "test".into(),
            },
            now,
            "ci",
        )
        .unwrap();
    tracked.release.apply(Input::RolledBack, now, "ci").unwrap();
    store.save(&mut tracked).await.unwrap();
    for function in &free {
        assert_eq!(holder(&store, function).await, None, "{function}");
    }
}

#[tokio::test]
async fn a_group_breaks_a_members_expired_lock_but_never_a_live_one() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let functions: Vec<String> = (0..2).map(|_| unique("fn")).collect();
    // Long ago, a release took the second member's alias and never finished.
    let long_ago = Utc::now() - Duration::days(30);
    let stale = Release::new(spec(&functions[1], &unique("r")), long_ago).unwrap();
    store.create(&stale, long_ago, None).await.unwrap();
    let now = Utc::now();
    let group = Release::new(group_spec(&functions, &unique("r")), now).unwrap();
    store.create(&group, now, None).await.unwrap();
    assert_eq!(
        holder(&store, &functions[1]).await.as_deref(),
        Some(group.id.as_str())
    );
    // The old release, ending at last, does not take the lock back with it.
    let mut old = store.load(&stale.id).await.unwrap();
    old.release
        .apply(
            Input::Abort {
                reason: "late".into(),
            },
            now,
            "ci",
        )
        .unwrap();
    old.release.apply(Input::RolledBack, now, "ci").unwrap();
    store.save(&mut old).await.unwrap();
    assert_eq!(
        holder(&store, &functions[1]).await.as_deref(),
        Some(group.id.as_str())
    );
}
