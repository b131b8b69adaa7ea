//! A group under analysis: each member judged, with its own alarm, and all reverted together.

use super::*;

#[tokio::test]
async fn one_group_member_failing_its_analysis_rolls_every_member_back() {
    let w = group_started_with_analysis().await;
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    w.alarms
        .metrics_of
        .lock()
        .unwrap()
        .insert("orders-worker".into(), traffic(4.0));
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolling_back");
    let queried: Vec<String> = w
        .alarms
        .queries
        .lock()
        .unwrap()
        .iter()
        .map(|q| format!("{}:{}->{}", q.function, q.stable_version, q.target_version))
        .collect();
    assert_eq!(
        queried,
        ["orders:1->2", "orders-worker:7->8"],
        "each member judged on its own versions"
    );
    let reason = w.store.release("r-1").reason.unwrap();
    assert!(
        reason.contains("orders-worker:live: target 4.00% errors"),
        "{reason}"
    );
    assert!(
        !reason.contains("orders:live:"),
        "the healthy member is not blamed: {reason}"
    );
    w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1");
    assert_eq!(
        w.router.routing("orders-worker", ALIAS).to_string(),
        "version 7"
    );
}

#[tokio::test]
async fn each_group_member_has_its_own_alarm_and_any_of_them_reverts_the_group() {
    let w = group_started_with_analysis().await;
    assert_eq!(
        own_alarms(&w),
        [
            "shiftback-analysis-r-1",
            "shiftback-analysis-r-1-m1",
            "shiftback-analysis-r-1-m1.latency",
            "shiftback-analysis-r-1.latency"
        ]
    );
    let watched = w.alarms.analysis_alarms.lock().unwrap()["shiftback-analysis-r-1-m1"].clone();
    assert_eq!(
        (
            watched.function.as_str(),
            watched.stable_version.as_str(),
            watched.target_version.as_str()
        ),
        ("orders-worker", "7", "8"),
        "the worker's alarm watches the worker's versions"
    );
    // The worker's own p99 alarm fires (recorded under its error-rate alarm's guard): the
    // whole group goes back at once.
    let outcomes = w
        .responder
        .handle(alarm_fired("shiftback-analysis-r-1-m1.latency"), None)
        .await
        .unwrap();
    assert_eq!(outcomes[0].reverted.len(), 2);
    assert_eq!(w.routing(), "version 1");
    assert_eq!(
        w.router.routing("orders-worker", ALIAS).to_string(),
        "version 7"
    );
    assert!(own_alarms(&w).is_empty(), "every member's alarm deleted");
}
