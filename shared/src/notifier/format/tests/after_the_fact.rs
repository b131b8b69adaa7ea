//! Announcements that describe their own entry whenever they are sent (a late step, durable
//! executions left after a revert), and the same facts as plain text for mail.

use super::*;

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
