//! What warns without paging: changes by hand, suppressed alarms, aborts, holds, refusals.

use super::*;

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
