use super::*;

fn pct(p: f64) -> Weight {
    Weight::from_percent(p).unwrap()
}

fn weights(s: &str) -> Vec<f64> {
    let schedule = s.parse::<Strategy>().unwrap().schedule().unwrap();
    schedule
        .steps
        .iter()
        .map(|s| s.weight.as_percent())
        .collect()
}

#[test]
fn every_codedeploy_preset_parses_with_and_without_prefix() {
    for (name, kind, percent, minutes) in PRESETS {
        for text in [
            name.to_string(),
            format!("CodeDeployDefault.Lambda{name}"),
            format!("CodeDeployDefault.Lambda.{name}"),
        ] {
            let strategy: Strategy = text.parse().unwrap();
            let schedule = strategy.schedule().unwrap();
            assert!(schedule.steps.iter().all(|s| s.bake_secs == minutes * 60));
            assert_eq!(schedule.steps[0].weight, pct(*percent as f64));
            let expected_steps = if *kind == 'c' { 1 } else { 9 };
            assert_eq!(schedule.steps.len(), expected_steps, "{text}");
        }
    }
    assert_eq!(
        "CodeDeployDefault.LambdaAllAtOnce".parse(),
        Ok(Strategy::AllAtOnce)
    );
    assert!(Strategy::AllAtOnce.schedule().unwrap().steps.is_empty());
}

#[test]
fn linear_stops_below_full_and_handles_uneven_increments() {
    assert_eq!(
        weights("Linear10PercentEvery1Minute"),
        [10., 20., 30., 40., 50., 60., 70., 80., 90.]
    );
    assert_eq!(weights("linear:30:1m"), [30., 60., 90.]);
    assert_eq!(weights("linear:50:1m"), [50.]);
    let s: Strategy = "linear:25:90".parse().unwrap();
    assert_eq!(s.schedule().unwrap().total_bake_secs(), 3 * 90);
}

#[test]
fn arbitrary_steps_keep_their_own_bake_times() {
    let s: Strategy = "steps:1@60s,5@2m,25@5m,50@5m,100".parse().unwrap();
    let schedule = s.schedule().unwrap();
    let bakes: Vec<u64> = schedule.steps.iter().map(|s| s.bake_secs).collect();
    assert_eq!(bakes, [60, 120, 300, 300]);
    assert_eq!(weights("steps:0.5@1m,2.25@1m"), [0.5, 2.25]);
    assert_eq!("steps:100".parse(), Ok(Strategy::AllAtOnce));
}

#[test]
fn display_round_trips() {
    for text in [
        "AllAtOnce",
        "canary:10:5m",
        "linear:20:90s",
        "steps:1@1m,5@2h,50@0s",
    ] {
        let s: Strategy = text.parse().unwrap();
        assert_eq!(s.to_string(), text);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Strategy>(&json).unwrap(), s);
    }
}

#[test]
fn invalid_strategies_are_rejected_with_the_reason() {
    let err = |s: &str| s.parse::<Strategy>().unwrap_err();
    assert_eq!(err("steps:"), StrategyError::Empty);
    // A zero increment never reaches 100%: refused, not expanded forever.
    assert!(matches!(
        err("linear:0:1m"),
        StrategyError::WeightOutOfRange(_)
    ));
    assert!(matches!(
        err("linear:0.01:1s"),
        StrategyError::TooManySteps(_)
    ));
    assert!(matches!(
        err("steps:0@1m"),
        StrategyError::WeightOutOfRange(_)
    ));
    assert!(matches!(
        err("steps:-5@1m"),
        StrategyError::WeightOutOfRange(_)
    ));
    assert!(matches!(
        err("steps:150@1m"),
        StrategyError::WeightOutOfRange(_)
    ));
    assert!(matches!(
        err("canary:100:5m"),
        StrategyError::WeightOutOfRange(_)
    ));
    assert!(matches!(
        err("steps:10@1m,5@1m"),
        StrategyError::NotIncreasing { .. }
    ));
    assert!(matches!(
        err("steps:10@1m,10@1m"),
        StrategyError::NotIncreasing { .. }
    ));
    assert!(matches!(err("steps:10@-1m"), StrategyError::BadDuration(_)));
    assert!(matches!(err("steps:10@5y"), StrategyError::BadDuration(_)));
    assert!(matches!(
        err("canary:10:9999999h"),
        StrategyError::BakeTooLong { .. }
    ));
    assert!(matches!(
        err("linear:1:100h"),
        StrategyError::TotalTooLong { .. }
    ));
    assert!(matches!(
        err("steps:10@1m,100@5m"),
        StrategyError::BakeOnFinalStep
    ));
    assert!(matches!(
        err("Canary11Percent5Minutes"),
        StrategyError::Unknown(_)
    ));
    assert!(matches!(err("blue-green"), StrategyError::Unknown(_)));
    let many: Vec<String> = (1..=99).map(|w| format!("{}@1s", w as f64 * 0.5)).collect();
    let many = format!("steps:{}", many.join(","));
    assert!(many.parse::<Strategy>().is_ok());
    let too_many: Vec<String> = (1..=101)
        .map(|w| format!("{}@1s", w as f64 * 0.5))
        .collect();
    assert!(matches!(
        format!("steps:{}", too_many.join(",")).parse::<Strategy>(),
        Err(StrategyError::TooManySteps(101))
    ));
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90"), Ok(90));
    assert_eq!(parse_duration("90s"), Ok(90));
    assert_eq!(parse_duration("5m"), Ok(300));
    assert_eq!(parse_duration("2h"), Ok(7200));
    assert!(parse_duration("").is_err());
    assert!(parse_duration("m").is_err());
    assert!(parse_duration("1.5m").is_err());
}
