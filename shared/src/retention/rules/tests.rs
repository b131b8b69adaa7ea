//! Every reason a version stays, each shown to keep its version on its own.

use chrono::Duration;

use super::*;
use crate::domain::release::tests::spec;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// Versions 1..=n, version k of k KB.
fn versions(n: u64) -> Vec<PublishedVersion> {
    (1..=n)
        .map(|k| PublishedVersion {
            version: k.to_string(),
            code_size: k as i64 * 1024,
            last_modified: Some(t(k as i64 * 60)),
            durable: false,
            capacity_provider: None,
        })
        .collect()
}

fn keep(newest: usize) -> Retention {
    Retention::new(newest, 0).unwrap()
}

/// A release on `alias` from `stable` to `target`, in `phase`, finished at t(1000) if ended,
/// with a 600 s bake window.
fn release(id: &str, alias: &str, stable: &str, target: &str, phase: Phase) -> Release {
    let mut spec = spec("canary:10:1m");
    spec.release_id = Some(id.into());
    spec.alias = alias.into();
    spec.stable_version = stable.into();
    spec.target_version = target.into();
    let mut release = Release::new(spec, t(0)).unwrap();
    if phase.is_terminal() {
        release.finished_at = Some(t(1000));
    }
    release.phase = phase;
    release
}

fn deleted(plan: &RetentionPlan) -> Vec<String> {
    let mut d = plan.to_delete();
    d.sort_by_key(|v| v.parse::<u64>().unwrap());
    d
}

fn reasons(plan: &RetentionPlan, version: &str) -> Vec<String> {
    plan.fates
        .iter()
        .find(|f| f.version.version == version)
        .unwrap()
        .kept_for
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn single(version: &str) -> AliasRouting {
    AliasRouting::single(version)
}

#[test]
fn with_nothing_in_use_only_the_newest_stay() {
    let plan = plan_retention(&versions(6), &VersionUses::default(), &[], keep(2), t(0));
    assert_eq!(deleted(&plan), ["1", "2", "3", "4"]);
    assert_eq!(reasons(&plan, "6"), ["one of the newest 2"]);
    assert_eq!(plan.frees(), (1 + 2 + 3 + 4) * 1024);
    // Newest first, by number, not by the order listed (10 sorts before 9 as text).
    let listed: Vec<_> = plan
        .fates
        .iter()
        .map(|f| f.version.version.as_str())
        .collect();
    assert_eq!(listed, ["6", "5", "4", "3", "2", "1"]);
    let plan = plan_retention(&versions(10), &VersionUses::default(), &[], keep(1), t(0));
    assert_eq!(plan.fates[0].version.version, "10");
    assert!(!plan.fates[0].deleted());
}

#[test]
fn keeping_nothing_is_refused() {
    let err = Retention::new(0, 3).unwrap_err();
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn an_alias_keeps_both_versions_it_routes_to() {
    let uses = VersionUses {
        aliases: vec![(
            "live".into(),
            AliasRouting {
                version: "2".into(),
                extra: Some(("3".into(), Weight::from_percent(10.0).unwrap())),
            },
        )],
        ..Default::default()
    };
    let plan = plan_retention(&versions(6), &uses, &[], keep(1), t(0));
    assert_eq!(deleted(&plan), ["1", "4", "5"]);
    assert_eq!(reasons(&plan, "2"), ["alias live routes to it"]);
    assert_eq!(reasons(&plan, "3"), ["alias live routes 10% to it"]);
}

#[test]
fn event_source_mappings_keep_their_version_or_their_aliases_versions() {
    let uses = VersionUses {
        aliases: vec![("batch".into(), single("3"))],
        mappings: vec![
            ("esm-1".into(), Some("2".into())),
            ("esm-2".into(), Some("batch".into())),
            // $LATEST and the unqualified function hold no published version.
            ("esm-3".into(), None),
            ("esm-4".into(), Some("$LATEST".into())),
        ],
        ..Default::default()
    };
    let plan = plan_retention(&versions(6), &uses, &[], keep(1), t(0));
    assert_eq!(deleted(&plan), ["1", "4", "5"]);
    assert_eq!(reasons(&plan, "2"), ["event source mapping esm-1"]);
    assert_eq!(
        reasons(&plan, "3"),
        [
            "alias batch routes to it",
            "event source mapping esm-2 through alias batch"
        ]
    );
}

#[test]
fn provisioned_concurrency_and_function_urls_keep_what_they_use() {
    let uses = VersionUses {
        aliases: vec![("live".into(), single("4"))],
        provisioned: vec!["2".into(), "live".into()],
        urls: vec![Some("live".into()), None],
        ..Default::default()
    };
    let plan = plan_retention(&versions(6), &uses, &[], keep(1), t(0));
    assert_eq!(deleted(&plan), ["1", "3", "5"]);
    assert_eq!(reasons(&plan, "2"), ["provisioned concurrency on 2"]);
    assert_eq!(
        reasons(&plan, "4"),
        [
            "alias live routes to it",
            "provisioned concurrency on live",
            "function URL of alias live"
        ]
    );
}

#[test]
fn a_release_in_progress_or_baking_keeps_both_its_versions() {
    let running = release("r-2", "live", "2", "3", Phase::Shifting { step: 0 });
    let baking = release("r-1", "beta", "4", "5", Phase::Succeeded);
    let releases = [running, baking];
    // At t(1300) r-1 is 300 s into its 600 s bake window.
    let plan = plan_retention(
        &versions(7),
        &VersionUses::default(),
        &releases,
        keep(1),
        t(1300),
    );
    assert_eq!(deleted(&plan), ["1", "6"]);
    assert_eq!(
        reasons(&plan, "2"),
        ["stable version of release r-2, in progress"]
    );
    assert_eq!(
        reasons(&plan, "5"),
        ["target version of release r-1, in its bake window"]
    );
    // Its window closed, the baked release protects nothing by itself.
    let plan = plan_retention(
        &versions(7),
        &VersionUses::default(),
        &releases,
        keep(1),
        t(1000) + Duration::seconds(601),
    );
    assert_eq!(deleted(&plan), ["1", "4", "5", "6"]);
}

#[test]
fn the_last_succeeded_releases_per_alias_keep_their_rollback_targets() {
    // Newest first: live went 1 -> 2 -> 3 -> 5 (4 rolled back); beta 6 -> 7.
    let releases = [
        release("r-5", "live", "3", "5", Phase::Succeeded),
        release("r-4", "live", "3", "4", Phase::RolledBack),
        release("r-3", "live", "2", "3", Phase::Succeeded),
        release("r-2", "beta", "6", "7", Phase::Succeeded),
        release("r-1", "live", "1", "2", Phase::Succeeded),
    ];
    let retention = Retention::new(1, 2).unwrap();
    let plan = plan_retention(
        &versions(8),
        &VersionUses::default(),
        &releases,
        retention,
        t(100_000),
    );
    // live's last two successes (r-5, r-3) keep 5, 3 and 2; beta's keeps 7 and 6; r-1 is
    // beyond the depth, and 4 never succeeded.
    assert_eq!(deleted(&plan), ["1", "4"]);
    assert_eq!(
        reasons(&plan, "3"),
        [
            "rollback target of alias live (release r-3)",
            "rollback target of alias live (release r-5)"
        ]
    );
}

#[test]
fn triggers_that_do_not_go_through_the_alias_are_named() {
    let uses = VersionUses {
        mappings: vec![
            ("esm-live".into(), Some("live".into())),
            ("esm-pinned".into(), Some("3".into())),
            ("esm-latest".into(), None),
        ],
        urls: vec![Some("live".into()), None],
        latest_invokers: vec![("api".into(), "apigateway.amazonaws.com".into())],
        ..Default::default()
    };
    let found = bypassing_triggers(&uses, "live");
    assert_eq!(
        found,
        [
            "event source mapping esm-pinned invokes version 3, not alias live",
            "event source mapping esm-latest invokes $LATEST, not alias live",
            "the function URL of $LATEST does not go through alias live",
            "the function's resource policy (statement api) lets apigateway.amazonaws.com invoke $LATEST, not alias live",
        ]
    );
    assert!(bypassing_triggers(&VersionUses::default(), "live").is_empty());
}
