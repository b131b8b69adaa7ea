//! `shiftback start`: the same checks as `plan`, then an execution of the release workflow.

use serde_json::json;
use shiftback::adapters::StepFunctionsWorkflow;
use shiftback::domain::check_names;

use crate::args::{Cli, ReleaseArgs};
use crate::resources::Resources;
use crate::{actor, usage, Failure};

pub async fn run(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let workflow: StepFunctionsWorkflow = resources.workflow().await?;
    let target = match (&args.to, args.publish) {
        (Some(v), _) => v.clone(),
        (None, true) => {
            check_names(&args.function, &args.alias, None).map_err(|e| usage(e.to_string()))?;
            let labels = super::labels_of(args)?;
            let description = shiftback::domain::describe_labels(&labels);
            service.router.publish(&args.function, &description).await?
        }
        (None, false) => return Err(usage("name the version to release with --to, or --publish")),
    };
    let mut request = super::preflight(&service, args, &target).await?.request;
    let warnings = super::bypass_warnings(resources, &request.function, &request.alias).await;
    request.started_by = actor(cli);
    let id = request.release_id.clone().expect("generated");
    // Here, where a superseded release's gate can be handed back; the workflow's start would
    // supersede too, but leave such a gate to its timeout.
    let superseded = match request.supersede {
        true => {
            service
                .supersede_holders(&request, &id, Some(&resources.task_tokens()))
                .await?
        }
        false => Vec::new(),
    };
    let input = serde_json::to_value(&request).expect("serialisable");
    let execution = workflow.start(&id, &input).await?;
    if cli.json {
        println!(
            "{}",
            json!({"release_id": id, "execution_arn": execution, "target_version": target, "warnings": warnings,
                "superseded": superseded.iter().map(|s| &s.release_id).collect::<Vec<_>>()})
        );
    } else {
        for old in &superseded {
            println!(
                "superseded release {}: back on its stable version, on the record",
                old.release_id
            );
        }
        println!(
            "started release {id}: {}:{} -> version {target} ({})",
            args.function, args.alias, request.strategy
        );
        for member in &request.members {
            println!(
                "  in step with {} -> version {} (from {})",
                member.name(),
                member.target_version,
                member.stable_version
            );
        }
        for warning in &warnings {
            println!("warning: {warning}");
        }
        println!("follow it:   shiftback status {id} --watch");
        println!("stop it:     shiftback abort {id}");
    }
    Ok(0)
}
