//! Prints the messages a rolled-back release publishes (as docs/src/notifications.md shows them).
use chrono::DateTime;
use shiftback::domain::{Input, Release, ReleaseKind, ReleaseSpec};
use shiftback::notifier::format::notification;

fn main() {
    let at = |s: i64| DateTime::from_timestamp(1_795_000_000 + s, 0).unwrap();
    let mut release = Release::new(
        ReleaseSpec {
            labels: Default::default(),
            members: Vec::new(),
            gates: Default::default(),
            hooks: Default::default(),
            release_id: Some("r-20261122T180000-3fa2c1".into()),
            function: "orders".into(),
            alias: "live".into(),
            stable_version: "6".into(),
            target_version: "7".into(),
            strategy: "Canary10Percent5Minutes".parse().unwrap(),
            alarms: vec!["orders-errors".into()],
            alarm_overrides: vec![],
            bake_after_secs: 0,
            started_by: "ci@github".into(),
            kind: ReleaseKind::Deploy,
            analysis: Default::default(),
            retain_versions: None,
        },
        at(0),
    )
    .unwrap();
    release.apply(Input::Begin, at(1), "workflow").unwrap();
    let reason = "Threshold Crossed: 1 datapoint [12.0] was >= 5.0".to_string();
    let alarm = Input::Alarm {
        alarm: "orders-errors".into(),
        reason,
    };
    release.apply(alarm, at(95), "alarm:orders-errors").unwrap();
    release
        .apply(Input::RolledBack, at(95), "alarm:orders-errors")
        .unwrap();
    let n = notification(&release, release.log.len() - 1, "123456789012", "us-east-1").unwrap();
    println!("--- release topic: subject\n{}", n.subject);
    println!(
        "--- release topic: message attributes\n{}",
        serde_json::to_string(&n.attributes).unwrap()
    );
    println!(
        "--- release topic: body (Chatbot custom notification)\n{}",
        serde_json::to_string_pretty(&n.body).unwrap()
    );
    let incident = n.incident.unwrap();
    println!("--- incident topic: subject\n{}", incident.subject);
    println!(
        "--- incident topic: body\n{}",
        serde_json::to_string_pretty(&incident.body).unwrap()
    );
}
