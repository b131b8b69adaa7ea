//! `shiftback promote | pause | resume | abort | ignore`: an operator's say over a running
//! release.

use shiftback::service::Control;

use crate::args::Cli;
use crate::resources::Resources;
use crate::{actor, output, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    release: &str,
    command: Control,
) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let outcome = service
        .control_gate_aware(
            release,
            command.clone(),
            &actor(cli),
            &resources.task_tokens(),
        )
        .await?;
    let record = service.store.load(&outcome.release_id).await?.release;
    let what = match command {
        Control::Pause => format!("paused at {}", record.weight),
        Control::Resume => "resumed".to_string(),
        Control::Approve => format!(
            "approved: {} on version {}",
            record.weight, record.target_version
        ),
        Control::Promote => format!(
            "promoted: alias wholly on version {}",
            record.target_version
        ),
        Control::Abort { .. } => {
            format!("aborted: alias back on version {}", record.stable_version)
        }
        Control::Supersede { by } => format!(
            "superseded by {by}: alias back on version {}",
            record.stable_version
        ),
        Control::Ignore { guard, .. } => match record.ignore_of(&guard) {
            Some(until) => format!("{guard} ignored until {}", until.to_rfc3339()),
            None => format!("{guard} ignored"),
        },
    };
    output::done(cli.json, &record, &what);
    Ok(0)
}
