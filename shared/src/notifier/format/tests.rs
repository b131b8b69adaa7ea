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
fn changes_by_hand_are_announced_as_warnings_and_do_not_page() {
    for (to_stable, event_type, words) in [
        (true, "rolled_back", "rolled back BY HAND to v6"),
        (false, "interrupted", "INTERRUPTED"),
    ] {
        let mut r = release();
        r.apply(
            Input::HandsOff {
                member: None,
                found: "version 9".into(),
                to_stable,
            },
            t(100),
            "workflow",
        )
        .unwrap();
        let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
        assert_eq!(n.event_type, event_type);
        assert_eq!(n.attributes["severity"], "warning");
        assert!(n.incident.is_none(), "no page for a change by hand");
        assert!(
            n.subject.contains(words.split(' ').next().unwrap()),
            "{}",
            n.subject
        );
        assert!(n.body["content"]["title"].as_str().unwrap().contains(words));
    }
}

#[test]
fn a_suppressed_alarm_is_announced_as_a_warning_that_nothing_was_reverted() {
    let mut r = release();
    r.apply(
        Input::AlarmSuppressed {
            alarm: "orders-composite".into(),
            by: "maintenance (Alarm)".into(),
            changed_at: t(100),
        },
        t(101),
        "alarm:orders-composite",
    )
    .unwrap();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    assert_eq!(n.event_type, "alarm_suppressed");
    assert_eq!(n.attributes["severity"], "warning");
    assert!(n.incident.is_none());
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("alarm orders-composite fired while its actions were suppressed by maintenance (Alarm); not reverted"),
        "{title}"
    );
}

#[test]
fn aborts_warn_but_do_not_page() {
    let mut r = release();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    r.apply(
        Input::Abort {
            reason: "wrong build".into(),
        },
        t(1),
        "bob",
    )
    .unwrap();
    r.apply(Input::RolledBack, t(2), "bob").unwrap();
    let n = notification(&r, r.log.len() - 1, "1", "us-east-1").unwrap();
    assert_eq!(
        (n.event_type, n.attributes["severity"].as_str()),
        ("aborted", "warning")
    );
    assert!(n.incident.is_none());
}

#[test]
fn a_release_held_for_a_person_says_why_and_what_to_run_without_paging() {
    let mut r = release();
    r.analysis.max_extension_secs = 0;
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let unsure = Verdict::Inconclusive {
        reason: "canary analysis inconclusive: the target had 12 invocations".into(),
    };
    r.apply(Input::Check(unsure), t(60), "workflow").unwrap();
    let n = notification(&r, r.log.len() - 1, "1", "us-east-1").unwrap();
    assert_eq!(n.event_type, "held");
    assert_eq!(n.attributes["severity"], "warning");
    assert!(n.incident.is_none());
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("release HELD at 50%")
            && title.contains("the target had 12 invocations")
            && title.contains("shiftback resume, promote or abort r-9"),
        "{title}"
    );
}

#[test]
fn a_refusal_by_the_pre_traffic_hook_says_nothing_shifted_and_pages_no_one() {
    use crate::hooks::{HookPhase, HookVerdict, Hooks};
    let mut r = release();
    r.hooks = Hooks {
        pre_traffic: Some("orders-smoke".into()),
        ..Hooks::default()
    };
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let failed = Input::HookAnswered {
        phase: HookPhase::PreTraffic,
        hook: "orders-smoke".into(),
        verdict: HookVerdict::Failed {
            reason: "GET /health answered 500".into(),
        },
    };
    r.apply(failed, t(5), "workflow").unwrap();
    let announced: Vec<Notification> = (0..r.log.len())
        .filter_map(|i| notification(&r, i, "123456789012", "us-east-1"))
        .collect();
    let kinds: Vec<&str> = announced.iter().map(|n| n.event_type).collect();
    assert_eq!(
        kinds,
        ["started", "refused"],
        "a failed answer is told by the refusal"
    );
    let refused = &announced[1];
    assert_eq!(refused.attributes["severity"], "warning");
    assert_eq!(refused.attributes["outcome"], "refused");
    assert!(refused.incident.is_none(), "nothing to repair: no page");
    let title = refused.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("REFUSED") && title.contains("still on v6"),
        "{title}"
    );
    let steps = refused.body["content"]["nextSteps"].to_string();
    assert!(steps.contains("GET /health answered 500"), "{steps}");
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

#[test]
fn a_step_announced_after_the_rollback_describes_the_step_not_the_rollback() {
    let r = reverted_by_its_alarm();
    let step = r
        .log
        .iter()
        .position(|e| matches!(e.event, ReleaseEvent::WeightSet { .. }))
        .unwrap();
    // The step's publish failed and the outbox sends it now, after the rollback.
    let n = notification(&r, step, "123456789012", "us-east-1").unwrap();
    assert_eq!(n.event_type, "step_applied");
    let context = &n.body["metadata"]["additionalContext"];
    assert_eq!(context["weight_percent"], "50");
    assert_eq!(context["phase"], "shifting");
    assert!(context.get("reason").is_none(), "{context}");
    assert!(context.get("cause").is_none(), "{context}");
    let description = n.body["content"]["description"].as_str().unwrap();
    assert!(!description.contains("errors above 5%"), "{description}");
    assert!(description.contains("*Traffic on v7* 50%"), "{description}");
}

#[test]
fn mail_gets_plain_text_with_the_same_facts_and_next_steps() {
    let r = reverted_by_its_alarm();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    assert!(!n.text.contains('*') && !n.text.contains('`'), "{}", n.text);
    assert!(
        n.text.starts_with("orders:live ROLLED BACK to v6"),
        "{}",
        n.text
    );
    assert!(
        n.text
            .contains("\nReason alarm orders-errors is in ALARM: errors above 5%\n"),
        "{}",
        n.text
    );
    assert!(
        n.text.contains("\nNext steps:\n- Look at the alarm"),
        "{}",
        n.text
    );
}

#[test]
fn durable_executions_left_on_a_reverted_version_are_announced_with_how_to_list_them() {
    let mut r = release();
    r.target_durable = true;
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    r.apply(
        Input::Abort {
            reason: "bad build".into(),
        },
        t(10),
        "bob",
    )
    .unwrap();
    r.apply(Input::RolledBack, t(11), "workflow").unwrap();
    r.apply(
        Input::DurableLeft {
            function: None,
            version: "7".into(),
            running: 3,
            more: true,
        },
        t(12),
        "workflow",
    )
    .unwrap();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    assert_eq!(n.event_type, "durable_executions_left");
    assert_eq!(n.attributes["severity"], "warning");
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains("3 or more durable execution(s) still running on v7"),
        "{title}"
    );
    let steps = n.body["content"]["nextSteps"].to_string();
    assert!(
        steps.contains("shiftback durable orders --version 7"),
        "{steps}"
    );
    assert!(steps.contains("stop-durable-execution"), "{steps}");
    assert!(n.incident.is_none(), "no page: the rollback paged already");
}

#[test]
fn a_group_members_durable_executions_are_announced_under_its_own_function() {
    let mut r = release();
    r.apply(Input::Begin, t(0), "workflow").unwrap();
    let abort = Input::Abort {
        reason: "bad build".into(),
    };
    r.apply(abort, t(10), "bob").unwrap();
    r.apply(Input::RolledBack, t(11), "workflow").unwrap();
    let left = Input::DurableLeft {
        function: Some("orders-worker".into()),
        version: "8".into(),
        running: 2,
        more: false,
    };
    r.apply(left, t(12), "workflow").unwrap();
    let n = notification(&r, r.log.len() - 1, "123456789012", "us-east-1").unwrap();
    let title = n.body["content"]["title"].as_str().unwrap();
    assert!(
        title.contains(" orders-worker: 2 durable execution(s) still running on v8"),
        "{title}"
    );
    let steps = n.body["content"]["nextSteps"].to_string();
    assert!(
        steps.contains("shiftback durable orders-worker --version 8"),
        "{steps}"
    );
}

#[test]
fn a_declined_release_is_announced_as_refused_and_never_as_started() {
    let mut r = release();
    r.apply(
        Input::Decline {
            reason: "version 7 was rolled back by alarm orders-errors".into(),
        },
        t(0),
        "cloudformation:app",
    )
    .unwrap();
    assert!(r.was_declined());
    let announced: Vec<&str> = (0..r.log.len())
        .filter_map(|i| notification(&r, i, "123456789012", "us-east-1"))
        .map(|n| n.event_type)
        .collect();
    assert_eq!(announced, ["refused"]);
}
