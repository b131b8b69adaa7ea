//! Wave plans from the command line: `plan` and `start` with `--wave` or `--plan-file`, and
//! `status` and `abort` of a plan's id. The coordinator runs here for the dry run and the
//! abort (with the operator's credentials); the stack's waves workflow carries a plan out.

use chrono::Utc;
use futures::future::join_all;
use serde_json::json;
use shiftback::domain::strategy::{parse_duration, Strategy};
use shiftback::service::StartRequest;
use shiftback::waves::{
    check_waves, new_plan_id, EntryTarget, PlanEntry, PlanFile, PlanLink, PlanRequest,
    TargetDefaults, WavePlan,
};

use crate::args::{Cli, ReleaseArgs};
use crate::resources::Resources;
use crate::{actor, output, usage, Failure};

/// Whether the command names a wave plan.
pub fn wanted(args: &ReleaseArgs) -> bool {
    !args.waves.is_empty() || args.plan_file.is_some()
}

/// What a wave plan does not carry to its Regions yet: refused rather than dropped.
fn refuse_what_a_plan_does_not_carry(args: &ReleaseArgs) -> Result<(), Failure> {
    let given = [
        (!args.members.is_empty(), "--member"),
        (args.from.is_some(), "--from"),
        (!args.labels.is_empty(), "--label"),
        (!args.overrides.is_empty(), "--override-alarm"),
        (!args.analysis.is_empty(), "--analysis"),
        (args.retain.is_some(), "--retain"),
        (args.pre_traffic_hook.is_some(), "--pre-traffic-hook"),
        (args.post_traffic_hook.is_some(), "--post-traffic-hook"),
        (args.gate_before_promote, "--gate-before-promote"),
        (args.supersede, "--supersede"),
        (args.bake_after != "0", "--bake-after"),
    ];
    match given.iter().find(|(set, _)| *set) {
        Some((_, flag)) => Err(usage(format!(
            "{flag} is not carried by a wave plan yet: a plan gives each Region --strategy, --alarm and the version"
        ))),
        None => Ok(()),
    }
}

/// The plan the command line describes, checked, not yet recorded.
fn build(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<WavePlan, Failure> {
    refuse_what_a_plan_does_not_carry(args)?;
    if args.to.is_none() && !args.publish {
        return Err(usage(
            "name the version with --to (the same number in every Region), or --publish (each Region publishes its own when its wave starts)",
        ));
    }
    let defaults = TargetDefaults {
        function: args.function.clone(),
        alias: args.alias.clone(),
        version: args.to.clone(),
    };
    let (waves, bake) = match &args.plan_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("--plan-file {}: {e}", path.display())))?;
            let file: PlanFile = serde_json::from_str(&text)
                .map_err(|e| usage(format!("--plan-file {}: {e}", path.display())))?;
            let bake = file.wave_bake.clone().unwrap_or(args.wave_bake.clone());
            (defaults.waves_in(&file), bake)
        }
        None => (defaults.waves_of(&args.waves), args.wave_bake.clone()),
    };
    let waves = waves.map_err(|e| usage(e.to_string()))?;
    let bake_secs = parse_duration(&bake).map_err(|e| usage(format!("--wave-bake: {e}")))?;
    check_waves(&waves, bake_secs).map_err(|e| usage(e.to_string()))?;
    args.strategy
        .parse::<Strategy>()
        .map_err(|e| usage(format!("--strategy: {e}")))?;
    let home = resources
        .region()
        .ok_or_else(|| usage("no Region is set (AWS_REGION): a plan's home is the CLI's Region"))?;
    let now = Utc::now();
    let mut plan = WavePlan::new(
        &new_plan_id(now),
        &home,
        waves,
        bake_secs,
        &args.strategy,
        now.timestamp(),
        &actor(cli),
    );
    plan.alarms = args.alarms.clone();
    Ok(plan)
}

/// Every target's preflight in its own Region, all at once: what its start would check.
async fn preflight(
    resources: &Resources,
    plan: &WavePlan,
) -> Result<Vec<Result<Option<StartRequest>, String>>, Failure> {
    let waves = resources.waves().await?;
    let checks = plan.targets.iter().enumerate().map(|(i, t)| {
        let link = PlanLink::of(plan, i);
        let regions = waves.regions();
        async move {
            // Another account is reached through a role only the home coordinator may assume:
            // it checks that target when the plan starts, before anything moves.
            if t.target.role_arn.is_some() {
                return Ok(None);
            }
            regions
                .preflight(&t.target, &plan.strategy, &plan.alarms, &link)
                .await
                .map_err(|e| e.to_string())
        }
    });
    Ok(join_all(checks).await)
}

/// `shiftback plan --wave …`: every wave, and every Region's preflight, nothing moved.
pub async fn plan(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let plan = build(cli, resources, args)?;
    let checks = preflight(resources, &plan).await?;
    let refused = output::waves::show_plan(cli, &plan, &checks);
    Ok(if refused > 0 { 3 } else { 0 })
}

/// `shiftback start --wave …`: the same checks; if every Region passes, the plan is recorded
/// here and the stack's waves workflow carries it out.
pub async fn start(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let mut plan = build(cli, resources, args)?;
    plan.coordinator = resources.waves_coordinator().await;
    let checks = preflight(resources, &plan).await?;
    let refused: Vec<String> = plan
        .targets
        .iter()
        .zip(&checks)
        .filter_map(|(t, c)| {
            c.as_ref()
                .err()
                .map(|e| format!("{}: {e}", t.target.place()))
        })
        .collect();
    if !refused.is_empty() {
        return Err(Failure {
            code: 3,
            message: format!("plan not started, nothing moved: {}", refused.join("; ")),
        });
    }
    let workflow = resources.waves_workflow().await?;
    let input = if plan.targets.iter().any(|t| t.target.role_arn.is_some()) {
        // Checked in every Region, other accounts' too, and recorded by the home coordinator
        // (whose role those accounts trust) before its first look: nothing moves otherwise.
        json!({"plan": request_of(&plan)})
    } else {
        resources.waves().await?.create(&plan).await?;
        json!({"plan_id": plan.id, "looks": 0, "generation": 0})
    };
    let execution = workflow.start(&plan.id, &input).await?;
    if cli.json {
        println!(
            "{}",
            json!({"plan_id": plan.id, "execution_arn": execution, "waves": plan.waves,
                "targets": plan.targets.len()})
        );
    } else {
        println!(
            "started plan {}: {} wave(s) over {} Region(s), coordinated from {}",
            plan.id,
            plan.waves,
            plan.targets.len(),
            plan.home_region
        );
        println!("follow it:   shiftback status {}", plan.id);
        println!("stop it:     shiftback abort {}", plan.id);
    }
    Ok(0)
}

/// The plan as the waves workflow's input names it: every target with what it is.
fn request_of(plan: &WavePlan) -> PlanRequest {
    let first = &plan.targets[0].target;
    let waves = (0..plan.waves)
        .map(|wave| {
            plan.targets
                .iter()
                .filter(|t| t.wave == wave)
                .map(|t| {
                    PlanEntry::Target(EntryTarget {
                        region: t.target.region.clone(),
                        function: Some(t.target.function.clone()),
                        alias: Some(t.target.alias.clone()),
                        version: t.target.version.clone(),
                        role_arn: t.target.role_arn.clone(),
                    })
                })
                .collect()
        })
        .collect();
    PlanRequest {
        function: first.function.clone(),
        alias: first.alias.clone(),
        version: first.version.clone(),
        waves,
        wave_bake: Some(format!("{}s", plan.wave_bake_secs)),
        strategy: plan.strategy.clone(),
        alarms: plan.alarms.clone(),
        started_by: Some(plan.started_by.clone()),
        resource: None,
        answer_to: None,
    }
}

/// `shiftback status plan-…`: the plan's phase and every target's state.
pub async fn status(cli: &Cli, resources: &Resources, id: &str) -> Result<u8, Failure> {
    let (plan, _) = resources.waves().await?.plans().load_plan(id).await?;
    output::waves::show_status(cli, &plan);
    Ok(0)
}

/// `shiftback abort plan-…`: stops the plan and brings every moved Region back, from here.
pub async fn abort(
    cli: &Cli,
    resources: &Resources,
    id: &str,
    reason: &str,
) -> Result<u8, Failure> {
    let waves = resources.waves().await?;
    let why = format!("aborted by {}: {reason}", actor(cli));
    let (plan, _) = waves.stop(id, None, &why, Utc::now().timestamp()).await?;
    output::waves::show_status(cli, &plan);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftback::waves::Target;

    #[test]
    fn a_plan_sent_as_the_workflows_input_is_the_plan_the_coordinator_records() {
        let target = |region: &str, role: Option<&str>, version: &str| Target {
            region: region.into(),
            role_arn: role.map(str::to_string),
            function: "checkout".into(),
            alias: "live".into(),
            version: Some(version.into()),
        };
        let waves = vec![
            vec![target("us-east-1", None, "2")],
            vec![
                target("eu-west-1", None, "5"),
                target("eu-west-1", Some("arn:aws:iam::210987654321:role/r"), "9"),
            ],
        ];
        let mut plan = WavePlan::new(
            "plan-x",
            "us-east-1",
            waves,
            1800,
            "linear:50:5m",
            7,
            "cli:dana",
        );
        plan.alarms = vec!["checkout-errors".into()];
        let coordinator =
            "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-A";
        let recorded = request_of(&plan)
            .into_plan(&plan.id, coordinator, 7)
            .unwrap();
        plan.coordinator = Some(coordinator.into());
        assert_eq!(recorded, plan);
    }
}
