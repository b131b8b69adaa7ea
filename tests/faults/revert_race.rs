//! The advance handler shifting weight while the alarm handler reverts: the revert must
//! win in every interleaving. moto does not enforce RevisionId, so these are mocked.
use super::*;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use shiftback::adapters::CloudWatchHealth;
use shiftback::domain::{Phase, Verdict};
use shiftback::service::ReleaseService;

/// A release that has just decided to go from 10% to 25%.
fn deciding() -> Release {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut r = release();
    r.strategy = "steps:10@0s,25@0s".parse().unwrap();
    r.schedule = r.strategy.schedule().unwrap();
    r.apply(Input::Begin, now, "wf").unwrap();
    r.apply(Input::Check(Verdict::Healthy), now, "wf").unwrap();
    r.revision = 3;
    assert_eq!(r.phase, Phase::Shifting { step: 1 });
    r
}

fn stored(release: &Release) -> GetItemOutput {
    let mut doc = release.clone();
    doc.log.clear();
    GetItemOutput::builder()
        .item(
            "doc",
            AttributeValue::S(serde_json::to_string(&doc).unwrap()),
        )
        .item("revision", AttributeValue::N(release.revision.to_string()))
        .build()
}

fn service(lambda: &[&Rule], dynamodb: &[&Rule]) -> ReleaseService {
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .build(),
    );
    ReleaseService::new(
        router(lambda),
        store(dynamodb),
        CloudWatchHealth::new(cloudwatch),
    )
}

fn at_ten_percent() -> Rule {
    mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-1")))
}

#[tokio::test]
async fn a_revert_between_read_and_write_makes_the_shift_fail() {
    let release = deciding();
    let summary = stored(&release);
    let get_item = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
    let get_alias = at_ten_percent();
    // The alarm handler reverted after our read: Lambda refuses the stale revision.
    let update = mock!(LambdaClient::update_alias)
        .match_requests(|req| req.revision_id() == Some("rev-1"))
        .then_http_response(|| lambda_error(412, "PreconditionFailedException"));
    let service = service(&[&get_alias, &update], &[&get_item]);

    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
    assert_eq!(
        update.num_calls(),
        1,
        "one conditional attempt, never an unconditional one"
    );
    assert_eq!(
        get_item.num_calls(),
        1,
        "the release was re-read before writing"
    );
}

#[tokio::test]
async fn a_revert_recorded_first_stops_the_shift_before_any_write() {
    let release = deciding();
    let mut reverted = release.clone();
    reverted
        .apply(
            Input::Alarm {
                alarm: "errors".into(),
                reason: "5xx".into(),
            },
            release.updated_at,
            "alarm",
        )
        .unwrap();
    reverted
        .apply(Input::RolledBack, release.updated_at, "alarm")
        .unwrap();
    reverted.revision = 4;
    let summary = stored(&reverted);
    let get_item = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
    let get_alias = at_ten_percent();
    let update = mock!(LambdaClient::update_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")));
    let service = service(&[&get_alias, &update], &[&get_item]);

    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::StaleRelease { .. }), "{err}");
    assert_eq!(
        update.num_calls(),
        0,
        "no weight written after a recorded revert"
    );
}

#[tokio::test]
async fn an_alias_already_reverted_is_never_shifted_forward() {
    let release = deciding();
    let get_alias = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", None, "rev-9")));
    let update = mock!(LambdaClient::update_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-10")));
    let service = service(&[&get_alias, &update], &[]);
    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
    assert_eq!(update.num_calls(), 0);
}

/// A release that applied 10% and was then promoted (by its last step or an operator).
fn promoting() -> Release {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut r = release();
    r.apply(Input::Begin, now, "wf").unwrap();
    r.apply(Input::Promote, now, "bob").unwrap();
    r.revision = 3;
    assert_eq!(r.phase, Phase::Promoting);
    r
}

fn summary_of(release: &Release) -> Rule {
    let summary = stored(release);
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone())
}

fn promotion_write() -> Rule {
    mock!(LambdaClient::update_alias)
        .then_http_response(|| json_response(200, &alias_body("2", None, "rev-2")))
}

#[tokio::test]
async fn a_promotion_never_moves_an_alias_an_alarm_reverted_before_its_read() {
    let release = promoting();
    let get_item = summary_of(&release);
    let get_alias = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", None, "rev-9")));
    let update = promotion_write();
    let service = service(&[&get_alias, &update], &[&get_item]);
    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
    assert_eq!(update.num_calls(), 0, "the revert stands");
}

#[tokio::test]
async fn a_revert_between_a_promotions_read_and_write_makes_it_fail() {
    let release = promoting();
    let get_item = summary_of(&release);
    let get_alias = at_ten_percent();
    let update = mock!(LambdaClient::update_alias)
        .match_requests(|req| req.revision_id() == Some("rev-1"))
        .then_http_response(|| lambda_error(412, "PreconditionFailedException"));
    let service = service(&[&get_alias, &update], &[&get_item]);
    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
    assert_eq!(update.num_calls(), 1, "one conditional attempt");
}

#[tokio::test]
async fn a_revert_recorded_first_stops_the_promotion_before_any_write() {
    let release = promoting();
    let mut reverted = release.clone();
    reverted
        .apply(
            Input::Alarm {
                alarm: "errors".into(),
                reason: "5xx".into(),
            },
            release.updated_at,
            "alarm",
        )
        .unwrap();
    reverted.revision = 4;
    let get_item = summary_of(&reverted);
    let get_alias = at_ten_percent();
    let update = promotion_write();
    let service = service(&[&get_alias, &update], &[&get_item]);
    let err = service.converge(&release).await.unwrap_err();
    assert!(matches!(err, Error::StaleRelease { .. }), "{err}");
    assert_eq!(update.num_calls(), 0);
}

#[tokio::test]
async fn an_all_at_once_release_that_applied_nothing_promotes_from_the_stable_version() {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut release = release();
    release.strategy = "AllAtOnce".parse().unwrap();
    release.schedule = release.strategy.schedule().unwrap();
    release.apply(Input::Begin, now, "wf").unwrap();
    assert_eq!(release.phase, Phase::Promoting);
    let get_item = summary_of(&release);
    let get_alias = mock!(LambdaClient::get_alias)
        .sequence()
        .http_response(|| json_response(200, &alias_body("1", None, "rev-1")))
        .http_response(|| json_response(200, &alias_body("2", None, "rev-2")))
        .build();
    let update = mock!(LambdaClient::update_alias)
        .match_requests(|req| {
            req.revision_id() == Some("rev-1") && req.function_version() == Some("2")
        })
        .then_http_response(|| json_response(200, &alias_body("2", None, "rev-2")));
    let service = service(&[&get_alias, &update], &[&get_item]);
    assert!(service.converge(&release).await.unwrap());
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn without_interference_the_shift_is_a_compare_and_swap() {
    let release = deciding();
    let summary = stored(&release);
    let get_item = mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
    let get_alias = mock!(LambdaClient::get_alias)
        .sequence()
        .http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-1")))
        .http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")))
        .build();
    let update = mock!(LambdaClient::update_alias)
        .match_requests(|req| {
            req.revision_id() == Some("rev-1")
                && req
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .and_then(|w| w.get("2"))
                    == Some(&0.25)
        })
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")));
    let service = service(&[&get_alias, &update], &[&get_item]);
    service.converge(&release).await.unwrap();
    assert_eq!(update.num_calls(), 1);
}
