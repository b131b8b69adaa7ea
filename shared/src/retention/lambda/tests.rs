use super::*;

#[test]
fn a_function_arn_is_matched_to_its_function_and_qualifier() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders";
    assert_eq!(qualifier_of(arn, "orders"), Some(None));
    assert_eq!(
        qualifier_of(&format!("{arn}:live"), "orders"),
        Some(Some("live".into()))
    );
    assert_eq!(
        qualifier_of(&format!("{arn}:7"), "orders"),
        Some(Some("7".into()))
    );
    assert_eq!(qualifier_of(&format!("{arn}-v2:7"), "orders"), None);
    assert_eq!(qualifier_of("not an arn", "orders"), None);
}

#[test]
fn lambdas_last_modified_is_read() {
    let t = last_modified(Some("2026-11-23T10:00:00.000+0000")).unwrap();
    assert_eq!(t.to_rfc3339(), "2026-11-23T10:00:00+00:00");
    let moto = last_modified(Some("2026-11-23T10:00:00.123456000Z")).unwrap();
    assert_eq!(moto.timestamp(), t.timestamp());
    assert_eq!(last_modified(Some("yesterday")), None);
}

#[test]
fn every_principal_a_versions_policy_allows_is_a_grant_with_its_source() {
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"api","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc/*"}}},
        {"Sid":"partner","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"lambda:InvokeFunction"},
        {"Sid":"anyone","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl"},
        {"Sid":"denied","Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction"}]}"#;
    assert_eq!(
        policy_grants(policy),
        [
            "api: apigateway.amazonaws.com from arn:aws:execute-api:us-east-1:123456789012:abc/*",
            "partner: arn:aws:iam::111122223333:root",
            "anyone: *",
        ]
    );
    assert_eq!(policy_grants("{}"), Vec::<String>::new());
    assert_eq!(policy_grants("not json").len(), 1, "kept on doubt");
}

#[test]
fn only_allowed_service_principals_count_as_invokers() {
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"api","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction"},
        {"Sid":"both","Effect":"Allow","Principal":{"Service":["events.amazonaws.com","scheduler.amazonaws.com"]},"Action":"lambda:InvokeFunction"},
        {"Sid":"account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction"},
        {"Sid":"denied","Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction"}]}"#;
    assert_eq!(
        service_grants(policy),
        [
            ("api".to_string(), "apigateway.amazonaws.com".to_string()),
            ("both".into(), "events.amazonaws.com".into()),
            ("both".into(), "scheduler.amazonaws.com".into()),
        ]
    );
    assert!(service_grants("not json").is_empty());
}
