//! What each event looks like in Chatbot, PagerDuty and the SNS attributes.

use super::*;
use crate::domain::{Input, ReleaseKind, ReleaseSpec, Verdict};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn release() -> Release {
    Release::new(release_spec(), t(0)).unwrap()
}

fn release_spec() -> ReleaseSpec {
    ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some("r-9".into()),
        function: "orders".into(),
        alias: "live".into(),
        stable_version: "6".into(),
        target_version: "7".into(),
        strategy: "linear:50:1m".parse().unwrap(),
        alarms: vec!["orders-errors".into()],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "alice".into(),
        kind: ReleaseKind::Deploy,
        analysis: Default::default(),
        retain_versions: None,
    }
}

#[test]
fn rollback_notifies_people_machines_and_pagerduty() {
    let mut r = release();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let long = "x".repeat(100_000);
    r.apply(
        Input::Alarm {
            alarm: "orders-errors".into(),
            reason: long,
        },
        t(5),
        "alarm:orders-errors",
    )
    .unwrap();
    r.apply(Input::RolledBack, t(5), "alarm:orders-errors")
        .unwrap();
    let index = r.log.len() - 1;
    let n = notification(&r, index, "123456789012", "us-east-1").unwrap();
    assert_eq!(n.event_type, "rolled_back");
    assert_eq!(n.dedup_id, format!("r-9#{index}"));
    assert_eq!(n.attributes["severity"], "critical");
    assert_eq!(n.attributes["outcome"], "rolled_back");
    assert!(
        n.subject.len() <= 100 && n.subject.is_ascii(),
        "{}",
        n.subject
    );
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("orders:live") && title.contains("v6"),
        "{title}"
    );
    assert_eq!(
        n.body["metadata"]["additionalContext"]["alarm"],
        "orders-errors"
    );
    assert_eq!(n.body["metadata"]["additionalContext"]["release_id"], "r-9");
    assert!(!n.body["content"]["nextSteps"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        n.body.to_string().len() < 64 * 1024,
        "bounded whatever the reason's length"
    );
    let incident = n.incident.unwrap();
    assert!(
        incident.subject.starts_with("ALARM: "),
        "{}",
        incident.subject
    );
    assert_eq!(incident.body["NewStateValue"], "ALARM");
    assert_eq!(incident.body["AlarmName"], "shiftback orders:live");
}

#[test]
fn success_resolves_the_incident_and_quiet_events_are_not_announced() {
    let mut r = release();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    r.apply(Input::Check(Verdict::Healthy), t(60), "workflow")
        .unwrap();
    r.apply(Input::Promoted, t(61), "workflow").unwrap();
    let names: Vec<_> = (0..r.log.len())
        .filter_map(|i| notification(&r, i, "1", "us-east-1"))
        .map(|n| n.event_type)
        .collect();
    assert_eq!(names, ["started", "step_applied", "promoted"]);
    let done = notification(&r, r.log.len() - 1, "1", "us-east-1").unwrap();
    let ok = done.incident.unwrap();
    assert!(ok.subject.starts_with("OK: "));
    assert_eq!(ok.body["NewStateValue"], "OK");
    assert_eq!(ok.body["AlarmName"], incident_name(&r));
    let started = notification(&r, 0, "1", "us-east-1").unwrap();
    assert!(started.incident.is_none());
    assert_eq!(started.attributes["severity"], "info");
}

#[test]
fn a_group_is_announced_with_every_member_and_filterable_by_each_function() {
    let mut r = Release::new(
        ReleaseSpec {
            members: vec![crate::domain::Member {
                function: "orders-worker".into(),
                alias: "live".into(),
                stable_version: "11".into(),
                target_version: "12".into(),
            }],
            ..release_spec()
        },
        t(0),
    )
    .unwrap();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    assert_eq!(n.attributes["functions"], r#"["orders","orders-worker"]"#);
    assert_eq!(
        n.attributes["function"], "orders",
        "the first member, as before"
    );
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("orders:live + orders-worker:live") && title.contains("v11 → v12"),
        "{title}"
    );
    assert_eq!(
        n.body["metadata"]["additionalContext"]["members"],
        "orders:live v6->v7, orders-worker:live v11->v12"
    );
    let resources = n.body["metadata"]["relatedResources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    assert!(resources[1]
        .as_str()
        .unwrap()
        .ends_with(":function:orders-worker"));
}

#[test]
fn a_release_s_labels_say_where_it_came_from() {
    let mut r = Release::new(
        ReleaseSpec {
            labels: std::collections::BTreeMap::from([
                ("commit".to_string(), "3f2a1c9".to_string()),
                ("version".to_string(), "1.4.0".to_string()),
            ]),
            ..release_spec()
        },
        t(0),
    )
    .unwrap();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    let description = n.body["content"]["description"].as_str().unwrap();
    assert!(
        description.contains("*Labels* commit=3f2a1c9 version=1.4.0"),
        "{description}"
    );
    assert_eq!(
        n.body["metadata"]["additionalContext"]["labels"],
        "commit=3f2a1c9 version=1.4.0"
    );
}

/// Begun (its first step's entry at index `Begin`'s), then reverted by its alarm.
fn reverted_by_its_alarm() -> Release {
    let mut r = release();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    r.apply(
        Input::Alarm {
            alarm: "orders-errors".into(),
            reason: "errors above 5%".into(),
        },
        t(30),
        "alarm:orders-errors",
    )
    .unwrap();
    r.apply(Input::RolledBack, t(31), "alarm:orders-errors")
        .unwrap();
    r
}

mod after_the_fact;
mod warnings;

/// Releases walked to each of their endings, with what happened on the way.
fn walked() -> Vec<Release> {
    let alarm = || Input::Alarm {
        alarm: "orders-errors".into(),
        reason: "5xx".into(),
    };
    let abort = || Input::Abort {
        reason: "bad build".into(),
    };
    let walks: Vec<Vec<(Input, &str)>> = vec![
        vec![
            (Input::Begin, "workflow"),
            (Input::Pause, "cli:bob"),
            (Input::Resume, "cli:bob"),
        ],
        vec![
            (Input::Begin, "workflow"),
            (alarm(), "alarm:orders-errors"),
            (Input::RolledBack, "alarm:orders-errors"),
        ],
        vec![
            (Input::Begin, "workflow"),
            (abort(), "cli:bob"),
            (Input::RolledBack, "workflow"),
        ],
        vec![
            (Input::Begin, "workflow"),
            (Input::Promote, "cli:bob"),
            (Input::Promoted, "workflow"),
        ],
    ];
    walks
        .into_iter()
        .map(|walk| {
            let mut r = release();
            for (i, (input, actor)) in walk.into_iter().enumerate() {
                r.apply(input, t(i as i64), actor).unwrap();
            }
            r
        })
        .collect()
}

#[test]
fn every_reader_tells_an_event_as_its_one_description_says() {
    let mut kinds = std::collections::BTreeSet::new();
    for r in walked() {
        let counted: Vec<_> = crate::domain::metrics::metrics_of(&r, 0)
            .into_iter()
            .map(|p| p.name)
            .filter(|name| *name != "AlarmToRevert")
            .collect();
        let described: Vec<_> = (0..r.log.len()).filter_map(|i| r.describe(i)).collect();
        assert_eq!(described.len(), r.log.len(), "every entry is described");
        let metrics: Vec<_> = described.iter().filter_map(|d| d.metric).collect();
        assert_eq!(
            counted, metrics,
            "the metrics count what the description says"
        );
        for (index, d) in described.iter().enumerate() {
            let Some(n) = notification(&r, index, "123456789012", "us-east-1") else {
                assert_eq!(d.severity, None, "{d:?} is announced");
                continue;
            };
            kinds.insert(d.kind);
            let severity = d.severity.expect("announced").to_string();
            assert_eq!(n.event_type, d.kind);
            assert_eq!(n.body["metadata"]["eventType"], d.kind);
            assert_eq!(n.attributes["severity"], severity);
            assert_eq!(n.attributes["outcome"], d.outcome);
            let title = n.body["content"]["title"].as_str().unwrap();
            assert!(title.starts_with(d.emoji), "{title} for {d:?}");
        }
    }
    for kind in [
        "started",
        "paused",
        "resumed",
        "rolled_back",
        "aborted",
        "promoted",
    ] {
        assert!(kinds.contains(kind), "no {kind} among {kinds:?}");
    }
}
