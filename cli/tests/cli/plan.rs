//! `shiftback plan`: the schedule and every check, a group's members, and refusals with
//! their reasons and exit codes.

use super::*;

#[tokio::test]
async fn plan_shows_the_schedule_and_every_check() {
    let s = setup().await;
    let args = [
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "linear:25:1m",
        "--alarm",
        &s.alarm,
    ];
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("step 3/3") && printed.contains("75%"),
        "{printed}"
    );
    assert!(printed.contains("no release holds the alias"), "{printed}");
    assert!(
        printed.contains("canary analysis after each step's bake")
            && printed.contains("Showing a target no worse at a 10% canary takes about"),
        "what the analysis will check: {printed}"
    );
    // The function took no traffic in the last hour (nothing published to the emulator): the
    // plan says no step can decide, and what to do.
    assert!(
        printed.contains("the alias took no invocations in the last 60 minutes")
            && printed.contains("pre-traffic hook"),
        "{printed}"
    );
    let off = s.run(&[&args[..], &["--analysis", "off"][..]].concat());
    assert!(
        !text(&off).contains("took no invocations"),
        "no advice without analysis"
    );
    assert!(
        text(&off).contains("canary analysis is off"),
        "{}",
        text(&off)
    );
    let out = s.run(&[&["--json"][..], &args[..]].concat());
    let plan = json(&out);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 3);
    assert_eq!(plan["request"]["stable_version"], "1");
    assert_eq!(plan["ok"], true);
    // Versions 1-3, live on 1, keeping 1: version 2 would go.
    let retained = s.run(&[&args[..], &["--retain", "1"][..]].concat());
    let printed = text(&retained);
    assert!(
        printed.contains("versions are pruned: the newest 1 and every version in use"),
        "{printed}"
    );
    assert!(
        printed.contains("code storage ")
            && printed.contains(" --keep 1 --apply` would delete 1 version(s)"),
        "{printed}"
    );
    let hooked = [
        "--pre-traffic-hook",
        "orders-smoke",
        "--post-traffic-hook",
        "orders-e2e",
        "--hook-deadline",
        "20m",
    ];
    let printed = text(&s.run(&[&args[..], &hooked[..]].concat()));
    assert!(
        printed.contains("pre-traffic hook orders-smoke is called before any traffic moves; it must pass within 1200s")
            && printed.contains("post-traffic hook orders-e2e is called at 100%"),
        "{printed}"
    );
    let bad = s.run(
        &[
            &args[..],
            &["--pre-traffic-hook", "x", "--hook-deadline", "4h"][..],
        ]
        .concat(),
    );
    says(
        &bad,
        2,
        "hook deadline of 14400s must be between 1s and 10800s",
    );
}

#[tokio::test]
async fn plan_checks_every_member_of_a_group() {
    let s = setup().await;
    let worker = function_with_versions(&s.env, 2, "live").await;
    let member = format!("{worker}:live:2");
    let args = [
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--member",
        &member,
        "--strategy",
        "linear:50:1m",
        "--alarm",
        &s.alarm,
    ];
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains(&format!("member {worker}:live: v1 → v2")),
        "{printed}"
    );
    // A member that names no version: a usage error before any AWS call.
    let bad = s.run(&[&args[..6], &["--member", "orders-worker"][..]].concat());
    says(&bad, 2, "FUNCTION:ALIAS:VERSION");
    // A member whose version does not exist refuses the whole group.
    let missing = format!("{worker}:live:9");
    let refused = s.run(&[&args[..6], &["--member", &missing][..]].concat());
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
}

#[tokio::test]
async fn plan_refuses_with_the_reason_and_the_right_exit_code() {
    let s = setup().await;
    let plan = |to: &str, strategy: &str| {
        let f = s.function.clone();
        let a = s.alarm.clone();
        let (to, strategy) = (to.to_string(), strategy.to_string());
        move |s: &Setup| {
            s.run(&[
                "plan",
                &f,
                "--alias",
                "live",
                "--to",
                &to,
                "--strategy",
                &strategy,
                "--alarm",
                &a,
            ])
        }
    };
    let out = plan("2", "canary:150:5m")(&s);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("out of range"));

    let out = plan("9", "canary:10:5m")(&s);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("version 9"));

    let out = s.run(&["plan", "no-such-function", "--alias", "live", "--to", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    set_alarm(&s.env, &s.alarm, StateValue::Alarm).await;
    let out = plan("2", "canary:10:5m")(&s);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains(&s.alarm) && text(&out).contains("override"),
        "{}",
        text(&out)
    );
    set_alarm(&s.env, &s.alarm, StateValue::Ok).await;

    let holder = s.started("canary:10:10m", "2").await;
    // The alias is split now: name the stable version to see the lock refusal.
    let out = s.run(&[
        "--json",
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "3",
        "--from",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let error = json(&out)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(&holder) && error.contains(&format!("shiftback abort {holder}")),
        "{error}"
    );
}
