//! Everything a reader copies works as written: every shell block in the README, the book
//! (docs/src) and the examples either runs here, against the emulator, or says on its first
//! line why it cannot (`# needs an AWS account`, or `# not run by make test: <why>`).
//!
//! A block runs under `bash -euo pipefail` with this build's `shiftback` first on `PATH`, in a
//! Region of the emulator of its own (moto keeps Regions apart, so the documentation's fixed
//! names do not meet other tests'), which holds what the documentation names: `orders` (live
//! on 6, versions to the highest `--to`), `orders-worker` and `orders-audit` (live one below
//! the version the docs release), the alarms `orders-errors` and `worker-errors`, the hook
//! functions, a release table and a state machine that only waits (`waiting_machine`). `make GOAL` is checked
//! against the Makefile, not run: `make test` is what runs this.

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::DynamoStore;
use shiftback_integration_tests::{alarm_named, emulator_in, function_named, waiting_machine};

/// What a block says on its first line when it does not run here.
const MARKERS: [&str; 2] = ["# needs an AWS account", "# not run by make test:"];

/// The programs a runnable block may call; any other (aws, sam, cargo) needs a marker.
const RUNNABLE: [&str; 3] = ["shiftback", "make", "mkdir"];

/// A Region each for the blocks that run (moto keeps Regions apart).
const REGIONS: [&str; 12] = [
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-south-1",
    "ca-central-1",
    "sa-east-1",
    "us-west-2",
];

#[derive(Debug)]
struct Block {
    place: String,
    text: String,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Markdown a reader copies from: the README, the book's chapters, the examples' pages.
fn documents() -> Vec<PathBuf> {
    let mut found = vec![repo().join("README.md")];
    let mut dirs = vec![repo().join("docs/src"), repo().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() && entry.file_name() != "node_modules" {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The shell blocks of `text` (fences whose info string starts sh, bash, shell or console).
fn shell_blocks(name: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, bool, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                let shell = ["sh", "bash", "shell", "console"]
                    .contains(&info.split([' ', ',']).next().unwrap_or(""));
                open = Some((index + 1, shell, String::new()));
            }
            (Some((start, shell, body)), Some(_)) => {
                if *shell {
                    blocks.push(Block {
                        place: format!("{name}:{start}"),
                        text: std::mem::take(body),
                    });
                }
                open = None;
            }
            (Some((_, _, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

fn marked(block: &Block) -> bool {
    let first = block.text.lines().next().unwrap_or("");
    MARKERS.iter().any(|m| first.starts_with(m))
}

/// The programs a block calls: the first word of each command line (continuations joined,
/// comments dropped).
fn programs(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut continued = false;
    for line in text.lines() {
        let code = line.split(" #").next().unwrap_or("").trim();
        if !continued && !code.is_empty() && !code.starts_with('#') {
            found.push(code.split_whitespace().next().unwrap().to_string());
        }
        continued = code.ends_with('\\');
    }
    found
}

/// The highest version a block releases with `--to N`, or `at_least`.
fn highest_to(text: &str, at_least: u32) -> u32 {
    text.split("--to ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .fold(at_least, u32::max)
}

/// The account the documentation talks about, in `region`. Returns the table's name and the
/// state machine's ARN.
async fn documented_account(region: &str, block: &str) -> (String, String) {
    let env = emulator_in(region).await;
    let orders = highest_to(block, 7);
    function_named(&env, "orders", orders, "live", orders - 1).await;
    function_named(&env, "orders-worker", 12, "live", 11).await;
    function_named(&env, "orders-audit", 3, "live", 2).await;
    for hook in ["release-checks-orders-smoke", "release-checks-orders-e2e"] {
        function_named(&env, hook, 1, "live", 1).await;
    }
    for alarm in ["orders-errors", "worker-errors"] {
        alarm_named(&env, alarm, StateValue::Ok).await;
    }
    let store = DynamoStore::new(env.dynamodb.clone(), "shiftback-docs".to_string());
    store.create_table().await.expect("create table");
    let machine = waiting_machine(&aws_sdk_sfn::Client::new(&env.config)).await;
    (store.table().to_string(), machine)
}

/// Runs `block` in `region`'s documented account; its output when it fails.
async fn run(block: &Block, region: &str) -> Result<(), String> {
    if let Some(other) = programs(&block.text)
        .into_iter()
        .find(|p| !RUNNABLE.contains(&p.as_str()))
    {
        return Err(format!(
            "calls `{other}`, which cannot run here: make it run, or mark its first line \
             `{}` or `{} <why>`",
            MARKERS[0], MARKERS[1]
        ));
    }
    let (table, machine) = documented_account(region, &block.text).await;
    let home = std::env::temp_dir().join(format!("shiftback-docs-{region}"));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let cli_dir = Path::new(env!("CARGO_BIN_EXE_shiftback")).parent().unwrap();
    let makefile = repo().join("Makefile");
    // `make GOAL`: the goal must be one of the Makefile's.
    let script = format!(
        "make() {{ grep -q \"^$1:\" '{}' || {{ echo \"no make goal $1\" >&2; return 1; }}; }}\n{}",
        makefile.display(),
        block.text
    );
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&home)
        .env("HOME", &home)
        .env(
            "PATH",
            format!("{}:{}", cli_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("AWS_REGION", region)
        .env("AWS_DEFAULT_REGION", region)
        .env("SHIFTBACK_TABLE", &table)
        .env("SHIFTBACK_STATE_MACHINE_ARN", &machine)
        .env("SHIFTBACK_ACTOR", "docs")
        .env_remove("SHIFTBACK_STACK")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exited {:?}:\n{}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn all_blocks() -> Vec<Block> {
    documents()
        .iter()
        .flat_map(|path| {
            let name = path.strip_prefix(repo()).unwrap().display().to_string();
            shell_blocks(&name, &std::fs::read_to_string(path).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn every_shell_block_runs_as_written_or_says_why_not() {
    let blocks = all_blocks();
    let runnable: Vec<&Block> = blocks.iter().filter(|b| !marked(b)).collect();
    assert!(
        blocks.len() >= 12 && runnable.len() >= 5,
        "{} shell blocks, {} to run: the reader is off",
        blocks.len(),
        runnable.len()
    );
    assert!(
        runnable.len() <= REGIONS.len(),
        "more runnable blocks than Regions: add Regions to REGIONS"
    );
    let mut failures = Vec::new();
    for (block, region) in runnable.iter().zip(REGIONS) {
        if let Err(why) = run(block, region).await {
            failures.push(format!("{} ({region}): {why}", block.place));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The runner itself: a command that fails, an unknown make goal and an unmarked `aws` call
/// each fail their block.
#[tokio::test]
async fn a_block_that_cannot_run_as_written_fails() {
    let block = |text: &str| Block {
        place: "test".into(),
        text: text.into(),
    };
    let no_alarm = block("shiftback start orders --alias live --to 7 --alarm no-such-alarm\n");
    let failed = run(&no_alarm, "us-west-1").await.unwrap_err();
    assert!(failed.contains("no-such-alarm"), "{failed}");
    let goal = run(&block("make no-such-goal\n"), "us-east-2").await;
    assert!(goal.unwrap_err().contains("no make goal no-such-goal"));
    // Refused before any account is made.
    let aws = run(&block("aws s3 ls\n"), "nowhere").await.unwrap_err();
    assert!(aws.contains("`aws`"), "{aws}");
    assert!(marked(&block("# needs an AWS account\naws s3 ls\n")));
}
