//! `shiftback plan`: the schedule, and every precondition checked, changing nothing.

use shiftback::domain::Strategy;

use crate::args::{Cli, ReleaseArgs};
use crate::resources::Resources;
use crate::{output, usage, Failure};

pub async fn run(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let target = match (&args.to, args.publish) {
        (Some(v), _) => v.clone(),
        (None, true) => "$LATEST (to be published)".to_string(),
        (None, false) => return Err(usage("name the version to release with --to, or --publish")),
    };
    if args.publish {
        return Err(usage(
            "plan needs --to: --publish creates a version, which a dry run does not do",
        ));
    }
    let checked = super::preflight(&service, args, &target).await?;
    let (request, findings) = (&checked.request, &checked.findings);
    let strategy: Strategy = request.strategy.parse().expect("checked");
    let mut warnings = super::bypass_warnings(resources, &request.function, &request.alias).await;
    // How long each step must last for the analysis to decide, at the last hour's traffic.
    warnings.extend(service.analysis_advice(&checked).await);
    let keep = args.retain.unwrap_or(10) as usize;
    let storage = super::storage_note(resources, &request.function, keep.max(1)).await;
    output::plan(
        cli.json,
        request,
        &strategy.schedule().expect("checked"),
        findings,
        &warnings,
        &storage,
    );
    Ok(0)
}
