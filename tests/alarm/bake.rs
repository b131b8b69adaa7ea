//! The bake window: a succeeded release stays guarded until its window closes, and never at
//! the cost of a newer release.

use super::*;

#[tokio::test]
async fn the_bake_window_guards_a_succeeded_release_until_it_closes() {
    let f = fixture().await;
    let id = f.release_in_progress(600).await;
    let promoted = f
        .service
        .control(&id, Control::Promote, "bob")
        .await
        .unwrap();
    assert_eq!(promoted.phase, "succeeded");
    assert_eq!(f.alias().await, AliasRouting::single("2"));

    // After the window: nothing happens.
    let mut late = alarm_state_change(&f.alarm, "ALARM", ACCOUNT);
    late["detail"]["state"]["timestamp"] =
        json!((Utc::now() + Duration::seconds(700)).to_rfc3339());
    let outcomes = f.responder.handle(late, Some(ACCOUNT)).await.unwrap();
    assert!(outcomes[0].reverted.is_empty());
    assert_eq!(f.alias().await, AliasRouting::single("2"));

    // Inside it: reverted to the previous version and recorded against that release.
    let outcomes = f
        .responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(f.alias().await, AliasRouting::single("1"));
    let release = f.store().load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    assert!(release.reason.unwrap().contains("bake window"));
}

#[tokio::test]
async fn a_bake_window_alarm_never_undoes_a_newer_release() {
    let f = fixture().await;
    let id = f.release_in_progress(600).await;
    f.service
        .control(&id, Control::Promote, "bob")
        .await
        .unwrap();
    // Someone moved the alias on (a newer version, by hand or by another tool).
    f.service
        .router
        .set(&f.function, "live", &AliasRouting::single("1"), None)
        .await
        .unwrap();
    let outcomes = f
        .responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert!(outcomes[0].reverted.is_empty());
    assert_eq!(
        f.store().load(&id).await.unwrap().release.phase,
        Phase::Succeeded
    );
}
