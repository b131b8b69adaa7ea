//! Reverts and rollbacks the workflow must respect: never undone by a forward move, to any
//! version recorded as good, from any routing.

use super::*;

#[tokio::test]
async fn a_forward_shift_never_undoes_a_revert() {
    let f = fixture().await;
    let first = f
        .service
        .start(request(&f, "steps:10@0s,25@0s"))
        .await
        .unwrap();
    // Someone (the alarm path) reverted the alias; the release record has not caught up.
    f.service
        .router
        .set(&f.function, "live", &AliasRouting::single("1"), None)
        .await
        .unwrap();
    // Nobody records it: after a moment's grace for the alarm handler's record, it counts as
    // a rollback by hand, recorded as such, and the alias stays where it was put.
    let next = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(next.next, Next::Done);
    assert_eq!(next.phase, "rolled_back");
    assert_eq!(alias(&f).await, AliasRouting::single("1"));
    let release = f
        .service
        .store
        .load(&first.release_id)
        .await
        .unwrap()
        .release;
    assert_eq!(release.log.last().unwrap().event.name(), "manual_rollback");
    assert!(release.reason.unwrap().contains("by hand"));
    assert_eq!(lock_holder(&f).await, None);
}

#[tokio::test]
async fn an_alias_taken_over_mid_release_is_left_as_found_and_recorded() {
    // An operator ships a hotfix by hand mid-release: neither the release's weights nor its
    // stable version. The release ends interrupted, touching the alias no more, whichever
    // step finds it: the next look, the promotion, the operator's promote, or a rollback.
    for moment in ["advance", "promote", "operator promote", "rollback"] {
        let f = fixture().await;
        let strategy = if moment == "promote" {
            "steps:10@0s"
        } else {
            "steps:10@0s,25@0s"
        };
        let first = f.service.start(request(&f, strategy)).await.unwrap();
        if moment == "promote" {
            let next = f.service.advance(step(&first)).await.unwrap();
            assert_eq!(next.next, Next::Promote);
        }
        let hotfix = AliasRouting::single("3");
        f.service
            .router
            .set(&f.function, "live", &hotfix, None)
            .await
            .unwrap();
        let outcome = match moment {
            "advance" => f.service.advance(step(&first)).await,
            "promote" => f.service.promote(step(&first)).await,
            "operator promote" => {
                f.service
                    .control(&first.release_id, Control::Promote, "bob")
                    .await
            }
            _ => f.service.rollback(StepInput::of(&first.release_id)).await,
        }
        .unwrap_or_else(|e| panic!("{moment}: {e}"));
        assert_eq!(outcome.phase, "interrupted", "{moment}");
        assert_eq!(outcome.next, Next::Done, "{moment}");
        assert_eq!(alias(&f).await, hotfix, "{moment}: left as found");
        let release = f
            .service
            .store
            .load(&first.release_id)
            .await
            .unwrap()
            .release;
        assert_eq!(release.phase, Phase::Interrupted);
        assert!(release.reason.unwrap().contains("version 3"), "{moment}");
        assert!(
            !release.log.iter().any(|e| e.event.name() == "failed"),
            "{moment}: not a failed rollback"
        );
        assert_eq!(lock_holder(&f).await, None);
    }
}

#[tokio::test]
async fn an_alias_reverts_to_any_version_recorded_as_good_and_no_other() {
    let env = emulator().await;
    let function = function_with_versions(&env, 4, "live").await;
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        release_store(&env).await,
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    // 1 -> 2 -> 3, both succeeded.
    for target in ["2", "3"] {
        let outcome = service
            .start(StartRequest {
                labels: Default::default(),
                members: Vec::new(),
                gates: Default::default(),
                hooks: Default::default(),
                release_id: None,
                function: function.clone(),
                alias: "live".into(),
                stable_version: None,
                target_version: target.into(),
                strategy: "AllAtOnce".into(),
                alarms: vec![],
                alarm_overrides: vec![],
                bake_after_secs: 0,
                started_by: "ci".into(),
                kind: Default::default(),
                analysis: shiftback::domain::AnalysisSettings::off(),
                retain_versions: None,
                supersede: false,
            })
            .await
            .unwrap();
        service
            .promote(StepInput::of(&outcome.release_id))
            .await
            .unwrap();
    }
    let read = |s: &ReleaseService| {
        let s = s.clone();
        let f = function.clone();
        async move { s.router.read(&f, "live").await.unwrap().routing }
    };
    assert_eq!(read(&service).await, AliasRouting::single("3"));

    // Version 4 exists but was never live: refused, nothing changes.
    let err = service
        .revert_to(&function, "live", "4", "bob", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotKnownGood { .. }), "{err}");
    assert_eq!(read(&service).await, AliasRouting::single("3"));

    // Version 1, two releases back, was the stable version of the first release.
    let outcome = service
        .revert_to(&function, "live", "1", "bob", None)
        .await
        .unwrap();
    assert_eq!(outcome.phase, "succeeded");
    assert_eq!(read(&service).await, AliasRouting::single("1"));
    let history = service.store.history(&function, 10, None).await.unwrap();
    let newest = &history.releases[0];
    assert_eq!(newest.kind, shiftback::domain::ReleaseKind::Revert);
    assert_eq!(
        (
            newest.stable_version.as_str(),
            newest.target_version.as_str()
        ),
        ("3", "1")
    );
    assert_eq!(newest.started_by, "bob");
    assert_eq!(
        service.store.lock_holder(&function, "live").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_rollback_repairs_a_split_alias() {
    // A release that failed outside shiftback's control can leave the alias split; the
    // operator's way out is `shiftback rollback --to` a version the history records as good.
    let f = fixture().await;
    let mut first = request(&f, "AllAtOnce");
    first.alarms.clear();
    let first = f.service.start(first).await.unwrap();
    f.service.promote(step(&first)).await.unwrap();
    let split = AliasRouting {
        version: "2".into(),
        extra: Some(("3".into(), pct(10.0))),
    };
    for to in ["2", "1"] {
        f.service
            .router
            .set(&f.function, "live", &split, None)
            .await
            .unwrap();
        let done = f
            .service
            .revert_to(&f.function, "live", to, "carol", None)
            .await
            .unwrap_or_else(|e| panic!("--to {to}: {e}"));
        assert_eq!(done.phase, "succeeded", "--to {to}");
        assert_eq!(alias(&f).await, AliasRouting::single(to));
        let release = f
            .service
            .store
            .load(&done.release_id)
            .await
            .unwrap()
            .release;
        assert_eq!(release.kind, shiftback::domain::ReleaseKind::Revert);
        assert_eq!(release.started_by, "carol");
    }
    // Already there: nothing to do, said plainly.
    let err = f
        .service
        .revert_to(&f.function, "live", "1", "carol", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("already wholly on version 1"),
        "{err}"
    );
}
