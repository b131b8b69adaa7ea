//! `shiftback create-table` (hidden): the release table, for local emulators.

use crate::args::Cli;
use crate::resources::Resources;
use crate::{output, Failure};

pub async fn run(cli: &Cli, resources: &Resources) -> Result<u8, Failure> {
    let service = resources.service().await?;
    service.store.create_table().await?;
    output::created(cli.json, service.store.table());
    Ok(0)
}
