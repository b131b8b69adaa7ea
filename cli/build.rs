//! The commit the CLI is built from, for `shiftback --version`: `SHIFTBACK_COMMIT` if set (a
//! build from a source archive, or a pipeline that knows it), else `git` in the source tree (a
//! clone, or `cargo install --git`'s checkout), else "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=SHIFTBACK_COMMIT");
    let given = std::env::var("SHIFTBACK_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let (commit, source) = match (given, git(&["rev-parse", "--short=12", "HEAD"])) {
        (Some(commit), _) => (commit, "env"),
        (None, Some(commit)) => (commit, "git"),
        (None, None) => ("unknown".to_string(), "none"),
    };
    println!("cargo:rustc-env=SHIFTBACK_COMMIT={commit}");
    // Where it came from, for the test that checks it.
    println!("cargo:rustc-env=SHIFTBACK_COMMIT_SOURCE={source}");
    // Built again when HEAD moves (a checkout, a commit), not on every edit.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{branch}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
}
