//! `shiftback completions SHELL`: a completion script, generated from the command line itself.

use clap::CommandFactory;

use crate::args::Cli;

pub fn run(shell: clap_complete::Shell) -> u8 {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "shiftback",
        &mut std::io::stdout(),
    );
    0
}
