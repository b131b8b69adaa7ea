//! The revert under concurrency and load: duplicated events, a promotion racing the revert,
//! several guards on one alias, one alarm guarding many aliases.

use super::*;

#[tokio::test]
async fn fifty_concurrent_copies_record_one_revert_and_late_copies_do_nothing() {
    let f = fixture().await;
    let id = f.release_in_progress(0).await;
    let event = alarm_state_change(&f.alarm, "ALARM", ACCOUNT);
    let copies = (0..50).map(|_| f.responder.handle(event.clone(), Some(ACCOUNT)));
    let results = futures::future::join_all(copies).await;
    let recorded = results
        .iter()
        .map(|r| r.as_ref().unwrap())
        .flat_map(|outcomes| outcomes[0].reverted.iter())
        .filter(|r| r.recorded)
        .count();
    assert_eq!(recorded, 1);
    assert_rolled_back(&f, &id).await;
    let release = f.store().load(&id).await.unwrap().release;
    let rollbacks = release
        .log
        .iter()
        .filter(|e| e.event.name() == "rolled_back")
        .count();
    assert_eq!(rollbacks, 1);

    // A late copy finds nothing to guard and changes nothing.
    let late = f.responder.handle(event, Some(ACCOUNT)).await.unwrap();
    assert!(late[0].reverted.is_empty());
    assert_eq!(f.store().load(&id).await.unwrap().release, release);
}

#[tokio::test]
async fn at_most_one_read_precedes_the_revert() {
    let f = fixture().await;
    f.release_in_progress(0).await;
    let log = CallLog::default();
    let Clients {
        lambda, dynamodb, ..
    } = f.env.clients_with(&log);
    let responder = AlarmResponder::new(
        LambdaRouter::new(lambda),
        DynamoStore::new(dynamodb, f.store().table()),
        None,
    );
    responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    let operations = log.operations();
    let revert = operations
        .iter()
        .position(|o| o == "UpdateAlias")
        .unwrap_or_else(|| panic!("no revert in {operations:?}"));
    assert_eq!(&operations[..revert], ["Query"], "{operations:?}");
}

#[tokio::test]
async fn one_alarm_reverts_forty_aliases_within_the_control_plane_rate() {
    let f = fixture().await;
    let mut releases = Vec::new();
    for _ in 0..40 {
        let function = function_with_versions(&f.env, 2, "live").await;
        let outcome = f
            .service
            .start(release_request(&function, &f.alarm, "2", "canary:10:10m"))
            .await
            .unwrap();
        releases.push((function, outcome.release_id));
    }
    let outcomes = f
        .responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .expect("no unhandled throttle");
    assert_eq!(outcomes[0].reverted.len(), 40);
    assert!(outcomes[0].reverted.iter().all(|r| r.recorded));
    for (function, id) in &releases {
        let alias = f
            .service
            .router
            .read(function, "live")
            .await
            .unwrap()
            .routing;
        assert_eq!(alias, AliasRouting::single("1"), "{function}");
        assert_eq!(
            f.store().load(id).await.unwrap().release.phase,
            Phase::RolledBack
        );
    }
}

#[tokio::test]
async fn a_promotion_landing_after_the_revert_is_reverted_again() {
    // The follow-up check after recording the revert must catch any weight towards the
    // target, a whole promotion included, not only a partial step.
    let f = fixture().await;
    f.release_in_progress(0).await;
    let (lambda, function) = (f.env.lambda.clone(), f.function.clone());
    let promote = AfterCall::new("UpdateAlias", move || {
        block_on(async {
            lambda
                .update_alias()
                .function_name(&function)
                .name("live")
                .function_version("2")
                .routing_config(
                    aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                        .set_additional_version_weights(Some(Default::default()))
                        .build(),
                )
                .send()
                .await
                .expect("promote behind the revert");
        })
    });
    let Clients {
        lambda, dynamodb, ..
    } = f.env.clients_with(&promote);
    let responder = AlarmResponder::new(
        LambdaRouter::new(lambda),
        DynamoStore::new(dynamodb, f.store().table()),
        None,
    );
    responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert!(promote.fired(), "the promotion was interleaved");
    assert_eq!(f.alias().await, AliasRouting::single("1"));
}

#[tokio::test]
async fn guards_on_one_alias_act_newest_first() {
    // Release 1 (v1 -> v2) is in its bake window when release 2 (v2 -> v3) starts on the same
    // alias; one alarm guards both. The alias must end on release 2's stable version (v2),
    // never on release 1's (v1), in whatever order the two guards come back.
    let env = emulator().await;
    let function = function_with_versions(&env, 3, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let responder = AlarmResponder::new(router.clone(), store.clone(), None);
    // Release 2's id sorts first, so the table returns its guard first.
    let mut first = release_request(&function, &alarm, "2", "AllAtOnce");
    first.release_id = Some(unique("r-z"));
    first.bake_after_secs = 600;
    let first = service.start(first).await.unwrap();
    service
        .promote(StepInput::of(&first.release_id))
        .await
        .unwrap();
    let mut second = release_request(&function, &alarm, "3", "canary:10:10m");
    second.release_id = Some(unique("r-a"));
    let second = service.start(second).await.unwrap();
    assert_eq!(store.guards_for_alarm(&alarm).await.unwrap().len(), 2);

    responder
        .handle(alarm_state_change(&alarm, "ALARM", ACCOUNT), Some(ACCOUNT))
        .await
        .unwrap();
    let alias = router.read(&function, "live").await.unwrap().routing;
    assert_eq!(alias, AliasRouting::single("2"));
    let phase = |id: String| {
        let store = store.clone();
        async move { store.load(&id).await.unwrap().release.phase }
    };
    assert_eq!(phase(second.release_id).await, Phase::RolledBack);
    assert_eq!(phase(first.release_id).await, Phase::Succeeded);
}
