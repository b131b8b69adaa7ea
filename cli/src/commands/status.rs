//! `shiftback status`: a release's progress, once or followed until it ends.

use shiftback::ports::AliasRouter as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shiftback::domain::{check_function_name, check_release_id, Phase, Release};
use shiftback::Error;

use crate::args::Cli;
use crate::resources::Resources;
use crate::{output, usage, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    target: &str,
    watch: bool,
    interval: f64,
) -> Result<u8, Failure> {
    if check_release_id(target).is_err() && check_function_name(target).is_err() {
        return Err(usage(format!(
            "'{}' is neither a release id nor a function name",
            target.chars().take(80).collect::<String>()
        )));
    }
    let service = resources.service().await?;
    let id = match service.store.load_summary(target).await {
        Ok(release) => release.id,
        Err(Error::ReleaseNotFound(_)) => {
            let function = service.canonical(target)?;
            let history = service.store.history(&function, 1, None).await?;
            match history.releases.first() {
                Some(newest) => newest.id.clone(),
                None => {
                    return Err(Failure {
                        code: 3,
                        message: format!(
                            "no release or function named '{target}' in the release history"
                        ),
                    })
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    let live = if watch && !cli.json {
        output::LiveStatus::on_terminal()
    } else {
        None
    };
    loop {
        let release = service.store.load(&id).await?.release;
        let alias = service
            .router
            .read(&release.function, &release.alias)
            .await
            .ok();
        let health = if release.alarms.is_empty() {
            None
        } else {
            service.health.statuses(&release.alarms).await.ok()
        };
        let alias = alias.as_ref().map(|a| &a.routing);
        match &live {
            Some(live) => live.show(&release, alias, health.as_deref()),
            None => output::status(cli.json, &release, alias, health.as_deref()),
        }
        if !watch {
            return Ok(0);
        }
        if let Some(code) = watch_ended(&release, service.store.now()) {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_secs_f64(interval.max(0.1))).await;
    }
}

/// Whether `status --watch` is done with `release` at `now`, and its exit code: 5 for a release
/// that ended without promoting; 0 for one that succeeded, once its bake window
/// (`--bake-after`) has closed, since an alarm in that window still rolls it back.
pub(crate) fn watch_ended(release: &Release, now: DateTime<Utc>) -> Option<u8> {
    match release.phase {
        Phase::Succeeded if release.guard_until().is_some_and(|until| until > now) => None,
        Phase::Succeeded => Some(0),
        phase if phase.is_terminal() => Some(5),
        _ => None,
    }
}
