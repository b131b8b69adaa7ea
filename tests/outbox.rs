//! The notifier's outbox against moto: entries nobody is told about (health checks,
//! analyses) cost one write for a whole run of them, not a claim and a confirm each.

use chrono::Utc;
use shiftback::adapters::SnsNotifier;
use shiftback::analysis::CanaryVerdict;
use shiftback::domain::{Input, Release, ReleaseSpec};
use shiftback_integration_tests::{
    emulator, release_store, subscribed_queue, topic, unique, CallLog, Clients,
};

#[tokio::test]
async fn a_run_of_unannounced_entries_moves_the_watermark_in_one_write() {
    let env = emulator().await;
    let store = release_store(&env).await;
    let release_topic = topic(&env, "outbox").await;
    subscribed_queue(&env, &release_topic, true, None).await;
    let log = CallLog::default();
    let Clients { dynamodb, sns, .. } = env.clients_with(&log);
    let notifier = SnsNotifier::new(sns, dynamodb, store.table(), &release_topic, None);

    let spec: ReleaseSpec = serde_json::from_value(serde_json::json!({
        "release_id": unique("r"), "function": "orders", "alias": "live",
        "stable_version": "1", "target_version": "2", "strategy": "linear:50:1m"
    }))
    .unwrap();
    let now = Utc::now();
    let mut release = Release::new(spec, now).unwrap();
    release.apply(Input::Begin, now, "wf").unwrap(); // started, weight set: announced
    for _ in 0..3 {
        let quiet = CanaryVerdict::Inconclusive {
            why: "quiet".into(),
        };
        release.apply(Input::Analysed(quiet), now, "wf").unwrap(); // not announced
    }
    release.apply(Input::Pause, now, "alice").unwrap(); // announced

    let sent = notifier.announce(&release).await.unwrap();
    assert_eq!(sent, 3);
    let updates = log
        .calls()
        .iter()
        .filter(|c| c.operation == "UpdateItem")
        .count();
    // A claim and a confirm for each of the 3 announced entries, one write past the 3 others.
    assert_eq!(updates, 3 * 2 + 1);
    // Nothing left: a second announcer reads the watermark and stops.
    log.clear();
    assert_eq!(notifier.announce(&release).await.unwrap(), 0);
    assert_eq!(log.calls().len(), 1, "one read of the watermark");
}
