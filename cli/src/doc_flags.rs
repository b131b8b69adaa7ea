//! The documentation's command lines against the CLI itself: every `shiftback` command a reader
//! copies from the README, the book or the examples names a command and flags that exist. The CLI's own
//! definition (clap) is the source; a renamed or removed flag fails `make check`.

use std::collections::BTreeSet;

use clap::CommandFactory;

use crate::args::Cli;

/// The documents whose commands people copy: the README, the book's chapters and the example
/// workflow. Read when the test runs, so a new chapter is checked without being listed.
fn documents() -> Vec<(String, String)> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = vec![
        repo.join("README.md"),
        repo.join("examples/github-actions/release.yml"),
    ];
    let mut chapters: Vec<_> = std::fs::read_dir(repo.join("docs/src"))
        .expect("docs/src")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    paths.extend(chapters);
    paths
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&repo).unwrap().display().to_string();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The code in a document: in Markdown, fenced blocks whole and inline `code` elsewhere (prose
/// that names shiftback is not a command); anything else (a workflow) whole. A line ending in
/// `\` is joined to the next.
fn code_lines(text: &str, markdown: bool) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let pieces: Vec<String> = if fenced || !markdown {
            vec![line.to_string()]
        } else {
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        for piece in pieces {
            // A shell, YAML or TypeScript comment is prose.
            let comment = ["#", "//"]
                .iter()
                .filter_map(|mark| {
                    piece
                        .match_indices(mark)
                        .map(|(at, _)| at)
                        .find(|&at| at == 0 || piece[..at].ends_with(' '))
                })
                .min();
            let piece = match comment {
                Some(at) => piece[..at].to_string(),
                None => piece,
            };
            let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
            joined.push_str(piece.trim_end().trim_end_matches('\\'));
            joined.push(' ');
            if piece.trim_end().ends_with('\\') {
                pending = Some((start, joined));
            } else {
                lines.push((start, joined));
            }
        }
    }
    lines
}

/// Each `shiftback …` command in `line`: the words after it, up to the end of the command.
fn commands(line: &str) -> Vec<Vec<&str>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if word.trim_start_matches(['(', '$', '"']) != "shiftback" {
            continue;
        }
        // A flag's value (`--stack-name shiftback`, `-p shiftback`), not the command.
        if i > 0 && words[i - 1].starts_with('-') {
            continue;
        }
        // What follows the command's name is a command or a flag; anything else (an alarm's
        // name in sample output, `shiftback orders:live`) is not a command line.
        let next = words.get(i + 1).copied().unwrap_or("");
        let command_like = |w: &str| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c == '|')
        };
        if !next.is_empty() && !next.starts_with("--") && !command_like(next) {
            continue;
        }
        let rest = words[i + 1..]
            .iter()
            .take_while(|w| !matches!(**w, "|" | "||" | "&&" | ">" | "2>" | ">>" | "#" | ";"))
            .take_while(|w| !w.starts_with('#') && !w.starts_with(')'))
            .copied()
            .collect();
        found.push(rest);
    }
    found
}

/// What is wrong with one command's words: an unknown command, or a flag it does not take.
fn problems(words: &[&str]) -> Vec<String> {
    let cli = Cli::command();
    let longs = |command: &clap::Command| -> BTreeSet<String> {
        command
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(["--help".to_string(), "--version".to_string()])
            .collect()
    };
    let global = longs(&cli);
    // Global flags may come first (`shiftback --json status`), each with its value if it takes one.
    let mut at = 0;
    while let Some(word) = words.get(at).filter(|w| w.starts_with("--")) {
        let takes_value = cli
            .get_arguments()
            .find(|a| a.get_long() == word.strip_prefix("--"))
            .is_some_and(|a| a.get_action().takes_values());
        at += if takes_value { 2 } else { 1 };
    }
    let Some(name) = words.get(at) else {
        return Vec::new();
    };
    let words = words[at + 1..].iter();
    let mut found = Vec::new();
    // `pause|resume|promote|abort RELEASE`: each of several commands at once.
    let named: Vec<&str> = name.split('|').collect();
    let flags: Vec<&str> = words
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap_or(w))
        .map(|w| w.trim_end_matches([',', '.', ')', '"', '\'', ';']))
        .collect();
    for name in named {
        let Some(command) = cli.find_subcommand(name) else {
            found.push(format!("no command `shiftback {name}`"));
            continue;
        };
        let own = longs(command);
        for flag in &flags {
            if !own.contains(*flag) && !global.contains(*flag) {
                found.push(format!("`shiftback {name}` has no flag {flag}"));
            }
        }
    }
    found
}

#[test]
fn every_command_the_documents_show_exists_with_its_flags() {
    let mut seen = 0;
    let mut wrong = Vec::new();
    for (document, text) in documents() {
        for (line, code) in code_lines(&text, document.ends_with(".md")) {
            for words in commands(&code) {
                seen += 1;
                wrong.extend(
                    problems(&words)
                        .into_iter()
                        .map(|p| format!("{document}:{line}: {p}")),
                );
            }
        }
    }
    assert!(
        seen >= 40,
        "only {seen} shiftback commands found: the reader is off"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_flag_or_command_that_does_not_exist_is_caught() {
    let words = |line: &'static str| commands(line).remove(0);
    assert!(problems(&words("shiftback start orders --alias live --to 7")).is_empty());
    assert!(problems(&words("shiftback --json status r-1 --watch | jq")).is_empty());
    assert!(problems(&words("shiftback pause|resume RELEASE")).is_empty());
    assert_eq!(
        problems(&words("shiftback start orders --override x")),
        ["`shiftback start` has no flag --override"]
    );
    assert_eq!(
        problems(&words("shiftback deploy orders")),
        ["no command `shiftback deploy`"]
    );
    let joined = code_lines(
        "```sh\nshiftback start orders \\\n  --no-such-flag\n```\n",
        true,
    );
    assert_eq!(
        problems(&commands(&joined[0].1)[0]),
        ["`shiftback start` has no flag --no-such-flag"]
    );
    // A comment is prose, in a shell, YAML or TypeScript block; a URL's `//` is not a comment.
    let commented = code_lines(
        "```ts\nalias: 'live', // shiftback creates it\n# shiftback deploys it\n```\n\
         ```sh\ncurl https://x/y && shiftback start --no-such-flag\n```\n",
        true,
    );
    let found: Vec<_> = commented
        .iter()
        .flat_map(|(_, code)| commands(code))
        .collect();
    assert_eq!(found, [vec!["start", "--no-such-flag"]], "{commented:?}");
    // Markdown prose naming shiftback is not a command, even in a page with no fenced block;
    // a workflow file is code throughout.
    let prose = "shiftback moves an alias; `shiftback start --no-such-flag` is checked";
    assert_eq!(code_lines(prose, true).len(), 1);
    assert_eq!(code_lines(prose, false)[0].1, format!("{prose} "));
}
