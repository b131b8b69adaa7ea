//! The traffic router against moto's Lambda: real create/publish/alias calls over HTTP.

use shiftback::adapters::{AliasRouting, LambdaRouter};
use shiftback::domain::{AliasTarget, Weight};
use shiftback::ports::AliasRouter as _;
use shiftback::Error;
use shiftback_integration_tests::{emulator, function_with_versions};

fn pct(p: f64) -> Weight {
    Weight::from_percent(p).unwrap()
}

#[tokio::test]
async fn weights_are_applied_read_back_promoted_and_reverted() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let router = LambdaRouter::new(env.lambda.clone());

    let initial = router.read(&function, "live").await.unwrap();
    assert_eq!(initial.routing, AliasRouting::single("1"));

    for weight in [pct(10.0), pct(25.5), pct(50.0)] {
        let routing = AliasRouting::for_release("1", "2", AliasTarget::Weighted(weight));
        let state = router.set(&function, "live", &routing, None).await.unwrap();
        assert_eq!(state.routing.weight_towards("1", "2"), Some(weight));
        // An independent read sees the same split: it is the alias, not our echo.
        let read = router.read(&function, "live").await.unwrap();
        assert_eq!(read.routing, routing);
    }

    let promoted = AliasRouting::for_release("1", "2", AliasTarget::Target);
    router
        .set(&function, "live", &promoted, None)
        .await
        .unwrap();
    let read = router.read(&function, "live").await.unwrap();
    assert_eq!(
        read.routing,
        AliasRouting::single("2"),
        "promotion clears the routing config"
    );

    let reverted = AliasRouting::for_release("1", "2", AliasTarget::Stable);
    router
        .set(&function, "live", &reverted, None)
        .await
        .unwrap();
    assert_eq!(
        router.read(&function, "live").await.unwrap().routing,
        AliasRouting::single("1")
    );
}

#[tokio::test]
async fn unknown_function_alias_or_version_is_a_specific_error() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let router = LambdaRouter::new(env.lambda.clone());

    let err = router.read("no-such-function", "live").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let err = router.read(&function, "no-such-alias").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("no-such-alias"), "{err}");

    router.ready_version(&function, "2").await.unwrap();
    let err = router.ready_version(&function, "9").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("version 9"), "{err}");
}

#[tokio::test]
async fn the_two_version_rule_is_refused_before_any_call() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let router = LambdaRouter::new(env.lambda.clone());
    let routing = AliasRouting {
        version: "$LATEST".into(),
        extra: Some(("2".into(), pct(10.0))),
    };
    let err = router
        .set(&function, "live", &routing, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRouting { .. }), "{err}");
    // Nothing changed.
    assert_eq!(
        router.read(&function, "live").await.unwrap().routing,
        AliasRouting::single("1")
    );
}
