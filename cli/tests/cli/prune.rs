//! `shiftback prune`: a dry run by default that says why each version stays, `--apply` to
//! delete, and bad input refused with exit 2 and nothing deleted.

use super::*;

fn published(out: &Value) -> Vec<(String, bool)> {
    out["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_string(),
                v["delete"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn prune_lists_by_default_and_deletes_only_when_applied() {
    let s = setup().await;
    // Versions 1-3, live on 1: keeping the newest one leaves 2 to delete.
    let out = s.run(&["prune", &s.function, "--keep", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("3 published versions, 1 to delete"),
        "{shown}"
    );
    assert!(shown.contains("alias live routes to it"), "{shown}");
    assert!(shown.contains("one of the newest 1"), "{shown}");
    assert!(shown.contains("code storage in this region"), "{shown}");
    assert!(shown.contains("dry run: nothing deleted"), "{shown}");

    let out = s.run(&["--json", "prune", &s.function, "--keep", "1"]);
    let listed = published(&json(&out));
    assert_eq!(
        listed,
        [
            ("3".to_string(), false),
            ("2".to_string(), true),
            ("1".to_string(), false)
        ]
    );

    let out = s.run(&["--json", "prune", &s.function, "--keep", "1", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["outcome"]["deleted"], serde_json::json!(["2"]));
    let out = s.run(&["--json", "prune", &s.function, "--keep", "1"]);
    assert_eq!(published(&json(&out)).len(), 2);
}

#[tokio::test]
async fn prune_refuses_bad_input_with_exit_2_and_deletes_nothing() {
    let s = setup().await;
    let qualified = format!("{}:2", s.function);
    for (args, says) in [
        (
            vec!["prune", s.function.as_str(), "--keep", "0", "--apply"],
            "keep at least 1",
        ),
        (
            vec!["prune", s.function.as_str(), "--keep", "-1"],
            "invalid value '-1' for '--keep",
        ),
        (
            vec!["prune", qualified.as_str(), "--apply"],
            "names one version or alias",
        ),
    ] {
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let out = s.run(&["prune", "no-such-function", "--apply"]);
    says(&out, 3, "does not exist");
    let out = s.run(&["--json", "prune", &s.function, "--keep", "1"]);
    assert_eq!(published(&json(&out)).len(), 3, "nothing was deleted");
}

#[tokio::test]
async fn durable_lists_what_runs_on_a_version_and_refuses_a_bad_one() {
    let s = setup().await;
    // moto has no durable functions: nothing runs on any version (the listing's shapes are
    // covered with aws-smithy-mocks in the integration tests).
    let out = s.run(&["durable", &s.function, "--version", "2"]);
    says(&out, 0, "version 2: 0 durable execution(s) running");
    let out = s.run(&["--json", "durable", &s.function, "--version", "2"]);
    let listed = json(&out);
    assert_eq!(listed["running"], serde_json::json!([]));
    assert_eq!(listed["more"], false);
    let out = s.run(&["durable", &s.function, "--version", "$LATEST"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
