//! What the wave plan commands print: every wave with its Regions' checks (`plan`), and a
//! plan's targets (`status`, `abort`), as text or `--json`.

use serde_json::json;
use shiftback::domain::strategy::Strategy;
use shiftback::service::StartRequest;
use shiftback::waves::{TargetState, WavePlan};

use crate::args::Cli;

/// Prints each wave, its targets and what their Regions said; returns how many refused.
pub fn show_plan(
    cli: &Cli,
    plan: &WavePlan,
    checks: &[Result<Option<StartRequest>, String>],
) -> usize {
    let refused = checks.iter().filter(|c| c.is_err()).count();
    if cli.json {
        let targets: Vec<_> = plan
            .targets
            .iter()
            .zip(checks)
            .map(|(t, check)| match check {
                Ok(request) => json!({"wave": t.wave + 1, "target": t.target,
                    "stable_version": request.as_ref().and_then(|r| r.stable_version.clone()),
                    "ok": true}),
                Err(e) => {
                    json!({"wave": t.wave + 1, "target": t.target, "ok": false, "refused": e})
                }
            })
            .collect();
        println!(
            "{}",
            json!({"plan_id": plan.id, "home_region": plan.home_region, "waves": plan.waves,
                "wave_bake_secs": plan.wave_bake_secs, "strategy": plan.strategy,
                "targets": targets, "refused": refused})
        );
        return refused;
    }
    let strategy: Strategy = plan.strategy.parse().expect("checked");
    println!(
        "plan {}: {} wave(s), {} target(s), coordinated from {}; each wave bakes {} before the next",
        plan.id,
        plan.waves,
        plan.targets.len(),
        plan.home_region,
        super::duration(plan.wave_bake_secs as i64)
    );
    println!("in each Region: {strategy}, guarded by {}", alarms_of(plan));
    for wave in 0..plan.waves {
        println!("wave {}:", wave + 1);
        let mut rows = super::table(&["where", "alias", "versions", "checks"], &[]);
        for (t, check) in plan
            .targets
            .iter()
            .zip(checks)
            .filter(|(t, _)| t.wave == wave)
        {
            let target = &t.target;
            let wanted = target
                .version
                .clone()
                .unwrap_or("published at its wave".into());
            let (versions, checks) = match check {
                Ok(Some(request)) => (
                    format!(
                        "{}->{}",
                        request.stable_version.as_deref().unwrap_or("?"),
                        request.target_version
                    ),
                    "ok".to_string(),
                ),
                Ok(None) if target.role_arn.is_some() => (
                    format!("->{wanted}"),
                    "checked by the home coordinator at start (its role reaches that account)"
                        .to_string(),
                ),
                Ok(None) => (format!("->{wanted}"), "ok (stack, alias)".to_string()),
                Err(e) => (format!("->{wanted}"), format!("refused: {e}")),
            };
            rows.add_row(vec![
                target.place(),
                format!("{}:{}", target.function, target.alias),
                versions,
                checks,
            ]);
        }
        super::print_table(&rows, "  ");
    }
    refused
}

fn alarms_of(plan: &WavePlan) -> String {
    match plan.alarms.as_slice() {
        [] => "no alarm (canary analysis only)".to_string(),
        alarms => alarms.join(", "),
    }
}

/// A plan as `--json` shows it: without the presigned URL of a stack waiting for it, which
/// answers the stack for anyone who holds it.
pub fn plan_json(plan: &WavePlan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).expect("serialisable");
    if let Some(map) = value.as_object_mut() {
        map.remove("answer_to");
        map.insert("stack_waits".into(), json!(plan.answer_to.is_some()));
    }
    value
}

/// A plan and every target's state, the cause in the headline.
pub fn show_status(cli: &Cli, plan: &WavePlan) {
    if cli.json {
        let mut value = plan_json(plan);
        value["needs_person"] = json!(plan
            .needs_person()
            .iter()
            .map(|&i| plan.targets[i].target.place())
            .collect::<Vec<_>>());
        println!("{value}");
        return;
    }
    let mut headline = format!("plan {}: {}", plan.id, plan.phase_line());
    if let Some(cause) = plan.stop_cause() {
        headline.push_str(&format!(": {}", cause.why));
    }
    println!("{headline}");
    let mut rows = super::table(
        &["wave", "where", "alias", "state", "release", "last error"],
        &[0],
    );
    let cause = plan.stop_cause().and_then(|c| c.target);
    for (i, t) in plan.targets.iter().enumerate() {
        let state = match &t.state {
            TargetState::Waiting => "waiting".to_string(),
            TargetState::Releasing { .. } => "releasing".to_string(),
            TargetState::Promoted { .. } => "promoted".to_string(),
            // The why is the headline's: the cause's own rollback, or the plan's stop.
            TargetState::Reverted { .. } if cause == Some(i) => {
                "rolled back: stopped the plan".to_string()
            }
            TargetState::Reverted { why, .. } if why.starts_with("stopped with the plan") => {
                "reverted with the plan".to_string()
            }
            TargetState::Reverted { why, .. } => format!("reverted: {why}"),
            TargetState::Skipped => "skipped (never moved)".to_string(),
            TargetState::AlreadyOn => "on the version already".to_string(),
        };
        rows.add_row(vec![
            (t.wave + 1).to_string(),
            t.target.place(),
            format!("{}:{}", t.target.function, t.target.alias),
            state,
            t.state.release_id().unwrap_or("").to_string(),
            t.last_error.clone().unwrap_or_default(),
        ]);
    }
    super::print_table(&rows, "  ");
    for i in plan.needs_person() {
        println!(
            "needs a person: {} has not answered {} looks in a row; see its last error",
            plan.targets[i].target.place(),
            plan.targets[i].attempts
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftback::domain::StackWaiting;

    #[test]
    fn a_plans_json_never_carries_the_waiting_stacks_presigned_url() {
        let target = shiftback::waves::Target {
            region: "us-east-1".into(),
            role_arn: None,
            function: "orders".into(),
            alias: "live".into(),
            version: Some("2".into()),
        };
        let mut plan = WavePlan::new(
            "plan-1",
            "us-east-1",
            vec![vec![target]],
            60,
            "AllAtOnce",
            0,
            "ci",
        );
        plan.answer_to = Some(Box::new(StackWaiting {
            response_url: "https://bucket.s3.amazonaws.com/signed?X-Amz-Signature=secret".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/app/1".into(),
            request_id: "r".into(),
            logical_resource_id: "Release".into(),
            physical_resource_id: "orders:live".into(),
            data: Default::default(),
        }));
        let shown = plan_json(&plan).to_string();
        assert!(!shown.contains("X-Amz-Signature"), "{shown}");
        assert!(shown.contains(r#""stack_waits":true"#), "{shown}");
    }
}
