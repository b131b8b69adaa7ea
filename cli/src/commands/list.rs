//! `shiftback list`: what is releasing right now, across all functions (the on-call engineer's
//! first question), from the table's index of open releases.

use chrono::Utc;
use serde_json::json;

use crate::args::Cli;
use crate::output::{duration, print_table, table};
use crate::resources::Resources;
use crate::Failure;

pub async fn run(cli: &Cli, resources: &Resources) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let now = Utc::now();
    let open = service.store.open_releases(now).await?;
    // The wave plans this Region coordinates, each with its regional releases' states.
    let plans = service.store.open_plans().await?;
    if cli.json {
        let releases: Vec<_> = open
            .iter()
            .map(|r| {
                let (waiting_on, since) = r.waiting_on(now);
                json!({
                    "release_id": r.id, "function": r.function, "alias": r.alias,
                    "stable_version": r.stable_version, "target_version": r.target_version,
                    "members": r.members,
                    "weight": r.weight, "phase": r.phase.name(),
                    "waiting_on": waiting_on, "since": since,
                })
            })
            .collect();
        let plans: Vec<_> = plans.iter().map(crate::output::waves::plan_json).collect();
        println!("{}", json!({ "releases": releases, "plans": plans }));
        return Ok(0);
    }
    if open.is_empty() && plans.is_empty() {
        println!("nothing is releasing: no release in progress or in its bake window");
        return Ok(0);
    }
    if !plans.is_empty() {
        show_plans(&plans, now.timestamp());
    }
    if open.is_empty() {
        return Ok(0);
    }
    let mut rows = table(
        &[
            "release",
            "alias",
            "versions",
            "weight",
            "phase",
            "waiting on",
            "since",
        ],
        &[3],
    );
    for r in &open {
        let (waiting_on, since) = r.waiting_on(now);
        rows.add_row(vec![
            r.id.clone(),
            // A group: every member, in step at one weight.
            r.subject(),
            r.all_members()
                .iter()
                .map(|m| format!("{}->{}", m.stable_version, m.target_version))
                .collect::<Vec<_>>()
                .join(", "),
            r.weight.to_string(),
            r.phase.name().to_string(),
            waiting_on,
            format!("{} ago", duration((now - since).num_seconds().max(0))),
        ]);
    }
    print_table(&rows, "");
    Ok(0)
}

/// The running wave plans: where each stands, Region by Region.
fn show_plans(plans: &[shiftback::waves::WavePlan], now: i64) {
    let mut rows = table(&["plan", "phase", "targets", "since"], &[]);
    for plan in plans {
        let targets = plan
            .targets
            .iter()
            .map(|t| format!("{} {}", t.target.place(), t.state.name()))
            .collect::<Vec<_>>()
            .join(", ");
        rows.add_row(vec![
            plan.id.clone(),
            plan.phase_line(),
            targets,
            format!("{} ago", duration((now - plan.started_at).max(0))),
        ]);
    }
    print_table(&rows, "");
    println!();
}
