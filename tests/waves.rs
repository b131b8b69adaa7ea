//! Waves against moto, three Regions, each with its own shiftback (a table, a release
//! workflow, a stack whose outputs name them): the coordinator finds each Region's shiftback
//! as it would in an account, starts each wave's releases there, and brings every Region back
//! on a stop. moto runs no workflow: each Region's workflow is played here as Step Functions
//! would run it (its Start task given the execution's name and input, then promote), and each
//! Region's alarm function as EventBridge would invoke it.

use shiftback::domain::Phase;
use shiftback::runtime::{wave_coordinator_with, Waves};
use shiftback::waves::{
    epoch_now, LambdaPlanStops, PlanPhase, PlanRecords, Seen, Target, TargetState, WaveCommand,
    WavePlan, WAVES_ACTOR,
};
use shiftback::Error;
use shiftback_integration_tests::waves::{region, Region};
use shiftback_integration_tests::{emulator_in, release_store, unique};

const HOME: &str = "us-east-1";
const REGIONS: [&str; 3] = [HOME, "eu-west-1", "ap-southeast-2"];
const BAKE: u64 = 60;

struct Plan {
    regions: Vec<Region>,
    waves: Waves,
    id: String,
    alarm: String,
    stack: String,
}

/// The home stack's coordinator, as local-lambda serves it (`shiftback-waves`).
const COORDINATOR: &str = "arn:aws:lambda:us-east-1:123456789012:function:shiftback-waves";

/// Three Regions a wave each, one stack name in all of them, and the plan recorded at home.
async fn plan() -> Plan {
    plan_told_by(None).await
}

/// The same, with each regional release told to stop the plan through `coordinator`.
async fn plan_told_by(coordinator: Option<&str>) -> Plan {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions = Vec::new();
    for name in REGIONS {
        regions.push(region(name, &stack, &alarm).await);
    }
    let home = &regions[0];
    let waves = wave_coordinator_with(&home.env.config, home.store.table(), &stack);
    let id = unique("plan");
    let targets = regions.iter().map(|r| vec![r.target()]).collect();
    let mut plan = WavePlan::new(
        &id,
        HOME,
        targets,
        BAKE,
        "canary:10:5m",
        epoch_now(),
        "carol",
    );
    plan.alarms = vec![alarm.clone()];
    plan.coordinator = coordinator.map(str::to_string);
    waves.create(&plan).await.unwrap();
    Plan {
        regions,
        waves,
        id,
        alarm,
        stack,
    }
}

impl Plan {
    async fn look(&self, now: i64) -> WavePlan {
        self.waves.look(&self.id, now).await.unwrap().0
    }

    fn release_id(&self, wave: usize) -> String {
        format!("{}-w{wave}-{wave}", self.id)
    }

    /// Waves 1 to `n` - 1 started, run, promoted and baked; wave `n` started and recorded in
    /// its Region (10% on version 2). Returns the plan's clock.
    async fn through_wave(&self, n: usize) -> i64 {
        // The plan's clock is the Regions' (a promotion's time is its record's).
        let mut now = epoch_now();
        for wave in 1..=n {
            if wave > 1 {
                // The look at the bake's end: every moved Region answers, the bake is over;
                // the next look starts the wave.
                let plan = self.look(now).await;
                assert_eq!(plan.phase, PlanPhase::Releasing { wave: wave - 1 });
                now += 1;
            }
            let plan = self.look(now).await;
            assert_eq!(plan.phase, PlanPhase::Releasing { wave: wave - 1 });
            let region = &self.regions[wave - 1];
            let id = self.release_id(wave);
            region.run_start(&id).await;
            assert_eq!(region.live().await, "1 + 2 at 10%", "{}", region.name);
            // Every later Region untouched: no execution, the alias where it was.
            for later in &self.regions[wave..] {
                assert_eq!(later.live().await, "1", "{}", later.name);
                let later_id = self.release_id(later_index(&self.regions, later) + 1);
                assert_eq!(later.workflow.execution(&later_id).await.unwrap(), None);
            }
            if wave < n {
                region.promote(&id).await;
                // Just after the promotion, by the Region's clock; then the bake's end.
                now = epoch_now() + 1;
                let plan = self.look(now).await;
                assert!(
                    matches!(plan.phase, PlanPhase::Baking { .. }),
                    "{:?}",
                    plan.phase
                );
                now += BAKE as i64 + 1;
            }
        }
        now
    }

    async fn stored(&self) -> WavePlan {
        self.waves.plans().load_plan(&self.id).await.unwrap().0
    }
}

fn later_index(regions: &[Region], region: &Region) -> usize {
    regions.iter().position(|r| r.name == region.name).unwrap()
}

#[tokio::test]
async fn a_plan_succeeds_wave_by_wave_and_each_regional_release_points_to_it() {
    let p = plan().await;
    let now = p.through_wave(3).await;
    p.regions[2].promote(&p.release_id(3)).await;
    let (plan, next) = p.waves.look(&p.id, now + 10).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(next, None, "an ended plan is looked at no more");
    for (i, region) in p.regions.iter().enumerate() {
        assert_eq!(region.live().await, "2", "{}", region.name);
        let release = region
            .store
            .load_summary(&p.release_id(i + 1))
            .await
            .unwrap();
        assert_eq!(release.phase, Phase::Succeeded);
        assert_eq!(release.started_by, WAVES_ACTOR);
        assert_eq!(release.labels["plan"], p.id);
        assert_eq!(release.labels["plan_home"], HOME);
        assert_eq!(release.labels["wave"], (i + 1).to_string());
        assert_eq!(release.alarms, std::slice::from_ref(&p.alarm));
    }
}

#[tokio::test]
async fn an_alarm_in_the_last_wave_reverts_its_region_at_once_and_every_other_with_one_stop() {
    let p = plan().await;
    let now = p.through_wave(3).await;
    let last = &p.regions[2];
    last.alarm_fires(&p.alarm).await;
    // Its own Region's revert, before any coordination.
    assert_eq!(last.live().await, "1");
    assert_eq!(
        p.regions[0].live().await,
        "2",
        "nothing else moved back yet"
    );
    // The Region's rollback stops the plan through the home Region (the fast path) ...
    let stop = WaveCommand::Stop {
        plan_id: p.id.clone(),
        release_id: Some(p.release_id(3)),
        why: "alarm errors in ap-southeast-2".into(),
        recall: false,
    };
    let answer = p.waves.handle(stop.clone(), now + 5).await.unwrap();
    assert_eq!(answer.phase, "stopped");
    assert!(answer.ended);
    for region in &p.regions {
        assert_eq!(region.live().await, "1", "{} is back", region.name);
    }
    let plan = p.stored().await;
    assert_eq!(plan.stop_cause().unwrap().target, Some(2));
    // Each earlier Region's revert is a release of its own on its record, by the coordinator.
    for (i, region) in p.regions[..2].iter().enumerate() {
        let back = format!("{}-back", p.release_id(i + 1));
        let revert = region.store.load_summary(&back).await.unwrap();
        assert_eq!(revert.phase, Phase::Succeeded);
        assert_eq!(revert.target_version, "1");
        assert_eq!(revert.started_by, WAVES_ACTOR);
    }
    // ... and the slow path's look, late, and the same stop again change nothing.
    let (after, next) = p.waves.look(&p.id, now + 30).await.unwrap();
    assert_eq!(after, plan);
    assert_eq!(next, None);
    p.waves.handle(stop, now + 31).await.unwrap();
    assert_eq!(p.stored().await, plan);
}

#[tokio::test]
async fn a_regional_rollback_is_found_by_the_next_look_when_no_stop_came() {
    let p = plan().await;
    let now = p.through_wave(2).await;
    p.regions[1].alarm_fires(&p.alarm).await;
    let plan = p.look(now + 30).await;
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(plan.targets[2].state, TargetState::Skipped);
    for region in &p.regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
    // The wave never started is not started by anything after the stop.
    let third = &p.regions[2];
    assert_eq!(
        third.workflow.execution(&p.release_id(3)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_abort_mid_wave_aborts_the_running_release_and_reverts_the_promoted_one() {
    let p = plan().await;
    let now = p.through_wave(2).await;
    let abort = WaveCommand::Stop {
        plan_id: p.id.clone(),
        release_id: None,
        why: "aborted by carol: wrong build".into(),
        recall: false,
    };
    let answer = p.waves.handle(abort, now + 5).await.unwrap();
    assert_eq!(answer.phase, "stopped");
    let running = p.regions[1]
        .store
        .load_summary(&p.release_id(2))
        .await
        .unwrap();
    assert_eq!(running.phase, Phase::Aborted);
    assert!(
        running
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("wrong build"),
        "{:?}",
        running.reason
    );
    for region in &p.regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
}

#[tokio::test]
async fn a_start_a_region_refuses_stops_the_plan_and_brings_back_what_moved() {
    let p = plan().await;
    let now = p.through_wave(1).await;
    // The second Region's alarm is deleted: its start refuses (the alarm is missing there).
    p.regions[1]
        .env
        .cloudwatch
        .delete_alarms()
        .alarm_names(&p.alarm)
        .send()
        .await
        .unwrap();
    p.regions[0].promote(&p.release_id(1)).await;
    let now = now.max(epoch_now()) + 1;
    p.look(now).await;
    p.look(now + 1 + BAKE as i64).await;
    let plan = p.look(now + 2 + BAKE as i64).await;
    let cause = plan.stop_cause().expect("stopped").clone();
    assert_eq!(cause.target, Some(1));
    assert!(cause.why.contains("eu-west-1"), "{}", cause.why);
    assert!(cause.why.contains(&p.alarm), "{}", cause.why);
    for region in &p.regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
}

#[tokio::test]
async fn a_start_repeated_after_a_crash_is_one_release_in_its_region() {
    let p = plan().await;
    p.look(epoch_now()).await;
    let region = &p.regions[0];
    let id = p.release_id(1);
    let regions =
        shiftback::waves::ShiftbackRegions::new(region.env.config.clone(), p.stack.clone());
    let link = shiftback::waves::PlanLink {
        plan_id: p.id.clone(),
        home_region: HOME.into(),
        wave: 1,
        coordinator: None,
    };
    use shiftback::waves::RegionalReleases as _;
    // Before its workflow records it, and after: the same release either way.
    regions
        .start(
            &region.target(),
            &id,
            "canary:10:5m",
            std::slice::from_ref(&p.alarm),
            &link,
        )
        .await
        .unwrap();
    region.run_start(&id).await;
    regions
        .start(
            &region.target(),
            &id,
            "canary:10:5m",
            std::slice::from_ref(&p.alarm),
            &link,
        )
        .await
        .unwrap();
    assert_eq!(
        regions.look(&region.target(), &id).await.unwrap(),
        Seen::Running
    );
    let history = region
        .store
        .history(&region.function, 10, None)
        .await
        .unwrap();
    assert_eq!(history.releases.len(), 1, "one release in the Region");
    // A revert repeated is one revert.
    regions.revert(&region.target(), &id, "test").await.unwrap();
    regions.revert(&region.target(), &id, "test").await.unwrap();
    assert_eq!(region.live().await, "1");
    let history = region
        .store
        .history(&region.function, 10, None)
        .await
        .unwrap();
    assert_eq!(history.releases.len(), 1);
}

#[tokio::test]
async fn plan_records_are_written_once_and_only_over_the_revision_read() {
    let env = emulator_in(HOME).await;
    let store = release_store(&env).await;
    let plan = WavePlan::new(
        &unique("plan"),
        HOME,
        vec![vec![Target {
            region: "eu-west-1".into(),
            role_arn: None,
            function: "orders".into(),
            alias: "live".into(),
            version: Some("7".into()),
        }]],
        0,
        "all-at-once",
        0,
        "carol",
    );
    PlanRecords::create(&store, &plan).await.unwrap();
    assert!(matches!(
        PlanRecords::create(&store, &plan).await,
        Err(Error::ReleaseExists(_))
    ));
    let (loaded, revision) = PlanRecords::load(&store, &plan.id).await.unwrap();
    assert_eq!((loaded.clone(), revision), (plan.clone(), 1));
    let mut moved = loaded.clone();
    moved.claim(0, "x", 0);
    PlanRecords::save(&store, &moved, revision).await.unwrap();
    assert!(matches!(
        PlanRecords::save(&store, &loaded, revision).await,
        Err(Error::StaleRelease { .. })
    ));
    assert_eq!(
        PlanRecords::load(&store, &plan.id).await.unwrap(),
        (moved, 2)
    );
    assert!(matches!(
        PlanRecords::load(&store, "no-such-plan").await,
        Err(Error::ReleaseNotFound(_))
    ));
}

/// The fast path whole: the last Region's alarm function reverts its Region, records it, and
/// invokes the home Region's coordinator (the handlers binary behind Lambda's Invoke API, cold,
/// as Lambda runs it), which stops the plan and brings the earlier Regions back.
#[tokio::test]
async fn a_regions_alarm_function_stops_the_plan_through_the_home_coordinator() {
    let mut p = plan_told_by(Some(COORDINATOR)).await;
    let home_table = p.regions[0].store.table().to_string();
    let handlers = crate::statemachine::serve_handlers_with(&[
        ("RELEASE_TABLE", &home_table),
        ("REGIONAL_STACK_NAME", &p.stack),
        ("AWS_REGION", HOME),
    ])
    .await;
    p.through_wave(3).await;
    let release = p.regions[2]
        .store
        .load_summary(&p.release_id(3))
        .await
        .unwrap();
    assert_eq!(release.labels["plan_stop"], COORDINATOR);
    let last = &mut p.regions[2];
    let invoke = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&last.env.config)
            .endpoint_url(&handlers.url)
            .build(),
    );
    last.responder.plan_stops = Some(LambdaPlanStops::new(invoke));
    // local-lambda answers when the coordinator has finished (Lambda answers an Event invoke
    // at once): when the alarm function returns, the stop is done.
    p.regions[2].alarm_fires(&p.alarm).await;
    for region in &p.regions {
        assert_eq!(region.live().await, "1", "{} is back", region.name);
    }
    let plan = p.stored().await;
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    let cause = plan.stop_cause().unwrap();
    assert_eq!(cause.target, Some(2));
    assert!(
        cause.why.starts_with("ap-southeast-2: release "),
        "{}",
        cause.why
    );
    assert!(cause.why.contains("rolled_back"), "{}", cause.why);
}

/// Two Regions of one wave roll back together (one alarm name, firing in both): their stops
/// race at home. One cause stands, both are back on their own record, the promoted Region is
/// reverted once; a late copy of either stop, and a late look, change nothing.
#[tokio::test]
async fn two_regions_stopping_the_plan_at_once_make_one_stop() {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions = Vec::new();
    for name in REGIONS {
        regions.push(region(name, &stack, &alarm).await);
    }
    let home = &regions[0];
    let waves = wave_coordinator_with(&home.env.config, home.store.table(), &stack);
    let id = unique("plan");
    let targets = vec![
        vec![regions[0].target()],
        vec![regions[1].target(), regions[2].target()],
    ];
    let mut plan = WavePlan::new(&id, HOME, targets, 0, "canary:10:5m", epoch_now(), "carol");
    plan.alarms = vec![alarm.clone()];
    waves.create(&plan).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    regions[0].run_start(&format!("{id}-w1-1")).await;
    regions[0].promote(&format!("{id}-w1-1")).await;
    waves.look(&id, epoch_now()).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    regions[1].run_start(&format!("{id}-w2-2")).await;
    regions[2].run_start(&format!("{id}-w2-3")).await;
    regions[1].alarm_fires(&alarm).await;
    regions[2].alarm_fires(&alarm).await;
    let stop = |n: usize| WaveCommand::Stop {
        plan_id: id.clone(),
        release_id: Some(format!("{id}-w2-{n}")),
        why: format!("release {id}-w2-{n} ended rolled_back"),
        recall: false,
    };
    let now = epoch_now();
    let (a, b) = futures::join!(waves.handle(stop(2), now), waves.handle(stop(3), now));
    a.unwrap();
    b.unwrap();
    let stored = waves.plans().load_plan(&id).await.unwrap().0;
    assert!(
        matches!(stored.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        stored.phase
    );
    let cause = stored.stop_cause().unwrap().target;
    assert!(matches!(cause, Some(1) | Some(2)), "{cause:?}");
    for region in &regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
    // The other Region's own rollback is on its target, not overwritten by the plan's stop.
    let other = if cause == Some(1) { 2 } else { 1 };
    match &stored.targets[other].state {
        TargetState::Reverted { why, .. } => {
            assert!(
                !why.starts_with("stopped with the plan") && why.contains("ended rolled_back"),
                "{why}"
            )
        }
        state => panic!("{state:?}"),
    }
    let history = regions[0]
        .store
        .history(&regions[0].function, 10, None)
        .await
        .unwrap();
    assert_eq!(history.releases.len(), 2, "the release and one revert");
    // Late: a copy of each stop, and the slow path's look.
    waves.handle(stop(2), now + 60).await.unwrap();
    waves.handle(stop(3), now + 61).await.unwrap();
    waves.look(&id, now + 62).await.unwrap();
    assert_eq!(waves.plans().load_plan(&id).await.unwrap().0, stored);
}

/// A plan across two accounts: the second wave's Region is in another account, reached
/// through a role the coordinator assumes (moto's STS issues credentials that act in that
/// account, whose resources the home account's cannot see). Started there on its own stack,
/// labelled with the plan, and brought back by an abort from home.
#[tokio::test]
async fn a_plan_reaches_a_region_in_another_account_through_its_role() {
    use shiftback_integration_tests::emulator_as;
    use shiftback_integration_tests::waves::region_in;
    const ROLE: &str = "arn:aws:iam::210987654321:role/shiftback-waves";
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let home = region(HOME, &stack, &alarm).await;
    let other_env = emulator_as("eu-west-1", ROLE).await;
    let other = region_in(
        other_env,
        "eu-west-1",
        &stack,
        &alarm,
        None,
        serde_json::json!({}),
    )
    .await;
    // The home account sees nothing of it.
    let home_view = emulator_in("eu-west-1").await;
    let seen = home_view
        .lambda
        .get_function()
        .function_name(&other.function)
        .send()
        .await;
    assert!(seen.is_err(), "the function is the other account's alone");

    let waves = wave_coordinator_with(&home.env.config, home.store.table(), &stack);
    let id = unique("plan");
    let elsewhere = Target {
        role_arn: Some(ROLE.into()),
        ..other.target()
    };
    let mut plan = WavePlan::new(
        &id,
        HOME,
        vec![vec![home.target()], vec![elsewhere]],
        0,
        "canary:10:5m",
        epoch_now(),
        "carol",
    );
    plan.alarms = vec![alarm.clone()];
    waves.create(&plan).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    home.run_start(&format!("{id}-w1-1")).await;
    home.promote(&format!("{id}-w1-1")).await;
    waves.look(&id, epoch_now()).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    let second = format!("{id}-w2-2");
    other.run_start(&second).await;
    assert_eq!(other.live().await, "1 + 2 at 10%");
    let release = other.store.load_summary(&second).await.unwrap();
    assert_eq!(release.labels["plan"], id);
    assert_eq!(release.labels["plan_home"], HOME);
    let stored = waves.plans().load_plan(&id).await.unwrap().0;
    assert_eq!(
        stored.targets[1].target.place(),
        "eu-west-1 (account 210987654321)"
    );
    let abort = WaveCommand::Stop {
        plan_id: id.clone(),
        release_id: None,
        why: "aborted by carol".into(),
        recall: false,
    };
    let answer = waves.handle(abort, epoch_now()).await.unwrap();
    assert_eq!(answer.phase, "stopped");
    assert_eq!(home.live().await, "1");
    assert_eq!(other.live().await, "1");
    let aborted = other.store.load_summary(&second).await.unwrap();
    assert_eq!(aborted.phase, Phase::Aborted);
}

/// eu-west-1 stops answering mid-wave (its control plane unreachable from a new coordinator
/// container): every look counts it, the plan holds rather than completing or skipping it, and
/// after MAX_ATTEMPTS looks it needs a person. An abort brings us-east-1 back and keeps
/// eu-west-1 on its list; once eu-west-1 answers again, the next look brings it back too.
#[tokio::test]
async fn a_region_that_stops_answering_mid_wave_holds_the_plan_and_comes_back_when_it_answers() {
    use shiftback::waves::{ShiftbackRegions, WaveCoordinator, MAX_ATTEMPTS};
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions = Vec::new();
    for name in [HOME, "eu-west-1"] {
        regions.push(region(name, &stack, &alarm).await);
    }
    let home = &regions[0];
    let waves = wave_coordinator_with(&home.env.config, home.store.table(), &stack);
    // A container whose calls to eu-west-1 find nothing listening (no retries: each look
    // records its failure at once).
    let dark = std::sync::Arc::new(WaveCoordinator::new(
        ShiftbackRegions::new(home.env.config.clone(), stack.clone()).with_clients(|config| {
            let unreachable = config.region().is_some_and(|r| r.as_ref() == "eu-west-1");
            let config = match unreachable {
                true => config
                    .to_builder()
                    .endpoint_url("http://127.0.0.1:9")
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .build(),
                false => config.clone(),
            };
            shiftback::runtime::HandlerClients::new(&config)
        }),
        shiftback::adapters::DynamoStore::new(home.env.dynamodb.clone(), home.store.table()),
    ));
    let id = unique("plan");
    let targets = regions.iter().map(|r| vec![r.target()]).collect();
    let mut plan = WavePlan::new(&id, HOME, targets, 0, "canary:10:5m", epoch_now(), "carol");
    plan.alarms = vec![alarm.clone()];
    waves.create(&plan).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    regions[0].run_start(&format!("{id}-w1-1")).await;
    regions[0].promote(&format!("{id}-w1-1")).await;
    waves.look(&id, epoch_now()).await.unwrap();
    waves.look(&id, epoch_now()).await.unwrap();
    regions[1].run_start(&format!("{id}-w2-2")).await;
    assert_eq!(regions[1].live().await, "1 + 2 at 10%");
    // eu-west-1 goes dark for the coordinator.
    for look in 1..=MAX_ATTEMPTS {
        let (plan, next) = dark.look(&id, epoch_now()).await.unwrap();
        assert_eq!(plan.targets[1].attempts, look, "counted, never skipped");
        assert!(next.is_some(), "the plan holds");
        assert!(matches!(plan.phase, PlanPhase::Releasing { wave: 1 }));
    }
    let plan = waves.plans().load_plan(&id).await.unwrap().0;
    assert_eq!(plan.needs_person(), [1]);
    assert!(plan.targets[1].last_error.is_some());
    // An abort while it is dark: us-east-1 comes back; eu-west-1 stays on the list.
    let abort = WaveCommand::Stop {
        plan_id: id.clone(),
        release_id: None,
        why: "aborted by carol".into(),
        recall: false,
    };
    let answer = dark.handle(abort, epoch_now()).await.unwrap();
    assert_eq!(answer.phase, "stopping");
    assert_eq!(regions[0].live().await, "1");
    assert_eq!(regions[1].live().await, "1 + 2 at 10%");
    // It answers again: the next look brings it back.
    let (plan, next) = waves.look(&id, epoch_now()).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(next, None);
    assert_eq!(regions[1].live().await, "1");
}
