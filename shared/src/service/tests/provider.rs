//! The custom resource provider's decisions where the wire hides them: two creates racing on
//! one alias (Lambda answers the loser `ResourceConflictException`, which moto does not).

use super::*;
use crate::domain::routing::AliasRouting;

/// A `Create` of `orders:prod` on `version`, in CloudFormation's shape.
fn create(version: &str) -> Value {
    json!({
        "RequestType": "Create", "RequestId": "7d2b4c1e-0000-4000-8000-000000000001",
        "ResponseURL": "https://example.com/response",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1",
        "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "OrdersRelease",
        "ResourceProperties": {"FunctionName": FUNCTION, "Alias": "prod", "Version": version}
    })
}

#[tokio::test(start_paused = true)]
async fn a_create_that_loses_a_race_for_the_alias_looks_again_and_succeeds() {
    let w = world();
    // Between the provider's read (no alias) and its CreateAlias, another create of the same
    // resource (CloudFormation's own retry) makes the alias: Lambda refuses the second with
    // ResourceConflictException, which passes with time. The provider looks again.
    w.router.interleave("create_alias", |table| {
        table.move_alias(FUNCTION, "prod", AliasRouting::single("2"));
    });
    let workflow = FakeWorkflow {
        journal: w.journal.clone(),
    };
    let answers = FakeAnswers::default();
    let answer = w
        .service
        .answer_cfn(create("2"), &workflow, &answers)
        .await
        .unwrap();
    assert_eq!(
        answer.data.get("Outcome").map(String::as_str),
        Some("already on the version"),
        "{answer:?}"
    );
    assert_eq!(answers.sent.lock().unwrap().len(), 1, "answered once");
    assert_eq!(w.router.routing(FUNCTION, "prod").to_string(), "version 2");
    assert_eq!(w.journal.count("launch"), 0, "no release started");
}
