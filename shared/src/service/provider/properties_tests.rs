//! The properties as CloudFormation sends them: every spelling of a flag, the defaults, the
//! names of what is missing or unknown, and the CDK example's synthesized release.

use super::*;
use serde_json::json;

fn with(extra: Value) -> Value {
    let mut props = json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider",
        "FunctionName": "orders", "Alias": "live", "Version": "7"
    });
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    props
}

#[test]
fn flags_take_every_spelling_cloudformation_can_send() {
    // YAML 1.1 reads unquoted on/off/yes/no as booleans, and CloudFormation stringifies
    // them; quoted, they arrive as written.
    let cases = [
        (json!("true"), Some(true)),
        (json!("True"), Some(true)),
        (json!("TRUE"), Some(true)),
        (json!(true), Some(true)),
        (json!("yes"), Some(true)),
        (json!("on"), Some(true)),
        (json!("On"), Some(true)),
        (json!(" true "), Some(true)),
        (json!("false"), Some(false)),
        (json!("False"), Some(false)),
        (json!(false), Some(false)),
        (json!("no"), Some(false)),
        (json!("off"), Some(false)),
        (json!("OFF"), Some(false)),
        (json!("enabled"), None),
        (json!("1"), None),
        (json!(["true"]), None),
    ];
    for property in ["Wait", "Analysis", "Rerelease"] {
        for (value, expected) in &cases {
            let got = properties(&with(json!({ property: value })));
            match (expected, got) {
                (Some(want), Ok(p)) => {
                    let read = match property {
                        "Wait" => p.wait,
                        "Analysis" => p.analysis,
                        _ => p.rerelease,
                    };
                    assert_eq!(read, *want, "{property}: {value}");
                }
                (None, Err(e)) => {
                    let text = e.to_string();
                    assert!(text.contains(property), "{text}");
                    assert!(text.contains("true or false"), "{text}");
                }
                (want, got) => panic!("{property}: {value}: wanted {want:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn absent_or_empty_properties_take_their_defaults() {
    for props in [
        with(json!({})),
        with(
            json!({"Wait": "", "Analysis": "", "Rerelease": "", "WhenBusy": "",
                    "Strategy": "", "Alarms": "", "Labels": null}),
        ),
    ] {
        let p = properties(&props).unwrap();
        assert!(!p.wait);
        assert!(p.analysis, "analysis is on unless switched off");
        assert!(!p.rerelease);
        assert_eq!(p.when_busy, WhenBusy::Supersede);
        assert_eq!(p.strategy, DEFAULT_STRATEGY);
        assert!(p.alarms.is_empty());
        assert!(p.labels.is_empty());
    }
}

#[test]
fn when_busy_takes_supersede_or_fail_in_any_case() {
    for (value, expected) in [
        ("Supersede", Some(WhenBusy::Supersede)),
        ("supersede", Some(WhenBusy::Supersede)),
        ("Fail", Some(WhenBusy::Fail)),
        ("FAIL", Some(WhenBusy::Fail)),
        ("Queue", None),
        ("true", None),
    ] {
        match (expected, properties(&with(json!({ "WhenBusy": value })))) {
            (Some(want), Ok(p)) => assert_eq!(p.when_busy, want, "{value}"),
            (None, Err(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("WhenBusy") && text.contains("Supersede, Fail"),
                    "{text}"
                );
            }
            (want, got) => panic!("{value}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn versions_alarms_and_labels_as_cloudformation_sends_them() {
    let p = properties(&with(json!({
        "Version": "arn:aws:lambda:us-east-1:123456789012:function:orders:12",
        "Alarms": ["errors", " latency "],
        "Labels": {"Commit": "3f2a1c9", "Build": "42"},
    })))
    .unwrap();
    assert_eq!(p.version, "12", "a version's ARN is read as its number");
    assert_eq!(p.alarms, ["errors", "latency"]);
    assert_eq!(p.labels["Build"], "42");
    // A number from a JSON template, and one comma-separated string of alarms.
    let p = properties(&with(json!({"Version": 7, "Alarms": "errors, latency,"}))).unwrap();
    assert_eq!(p.version, "7");
    assert_eq!(p.alarms, ["errors", "latency"]);
}

#[test]
fn a_missing_or_unknown_property_is_named() {
    for (props, names) in [
        (json!({"Alias": "live", "Version": "2"}), "FunctionName"),
        (json!({"FunctionName": "orders", "Version": "2"}), "Alias"),
        (
            json!({"FunctionName": "orders", "Alias": "live", "Version": ""}),
            "Version",
        ),
        (with(json!({"Analisys": "off"})), "Analisys"),
        (with(json!({"Labels": "commit=1"})), "Labels"),
        (with(json!({"Alias": {"Ref": "x"}})), "Alias"),
        (json!(["orders"]), "map of properties"),
    ] {
        let text = properties(&props).unwrap_err().to_string();
        assert!(text.contains(names), "{props}: {text}");
    }
    let text = properties(&with(json!({"Analisys": "off"})))
        .unwrap_err()
        .to_string();
    assert!(text.contains("Analysis"), "lists what it takes: {text}");
}

/// A value from a synthesized template as CloudFormation would send it to the provider:
/// intrinsics resolved (a `Ref` to the resource's logical id, the version's `GetAtt` to a
/// number, an import to an ARN) and every scalar stringified.
fn as_sent(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("Ref") => json!(map["Ref"]),
        Value::Object(map) if map.contains_key("Fn::GetAtt") => {
            assert_eq!(
                map["Fn::GetAtt"][1], "Version",
                "only the version is read: {value}"
            );
            json!("3")
        }
        Value::Object(map) if map.contains_key("Fn::ImportValue") => {
            json!("arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider")
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), as_sent(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(as_sent).collect()),
        Value::String(_) | Value::Null => value.clone(),
        scalar => json!(scalar.to_string()),
    }
}

/// The CDK example's template (examples/cdk, kept equal to what `cdk synth` makes by
/// scripts/check-cdk in `make test`): its ShiftbackRelease construct must make properties
/// this parser takes, with the values the example means.
#[test]
fn the_cdk_examples_release_is_one_the_provider_takes() {
    let template: Value = serde_json::from_str(include_str!(
        "../../../../examples/cdk/Orders.template.json"
    ))
    .unwrap();
    let releases: Vec<&Value> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "Custom::ShiftbackRelease")
        .collect();
    assert_eq!(releases.len(), 1, "the example releases one function");
    let sent = as_sent(&releases[0]["Properties"]);
    let p = properties(&sent).unwrap();
    assert!(p.function_name.starts_with("Orders"), "{}", p.function_name);
    assert_eq!((p.alias.as_str(), p.version.as_str()), ("live", "3"));
    assert_eq!(
        p.service_timeout_secs, 300,
        "the construct's 5-minute default"
    );
    assert!(!p.wait && p.analysis && !p.rerelease);
    assert!(p.alarms.len() == 1 && p.alarms[0].starts_with("OrdersErrors"));
    assert_eq!(p.labels.keys().collect::<Vec<_>>(), ["commit"]);
    p.strategy
        .parse::<crate::domain::strategy::Strategy>()
        .expect("a strategy shiftback knows");
}
