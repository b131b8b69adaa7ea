//! `shiftback rollback`: the alias back on any version its history records as good.

use chrono::Utc;
use shiftback::domain::release::new_release_id;

use crate::args::Cli;
use crate::resources::Resources;
use crate::{actor, output, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    function: &str,
    alias: &str,
    to: &str,
) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let outcome = service
        .revert_to(
            function,
            alias,
            to,
            &actor(cli),
            Some(new_release_id(Utc::now())),
        )
        .await?;
    let release = service.store.load(&outcome.release_id).await?.release;
    output::done(
        cli.json,
        &release,
        &format!("{function}:{alias} is on version {to}"),
    );
    Ok(0)
}
