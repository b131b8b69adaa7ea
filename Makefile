# The two commands the README promises: `make test` and `make demo`. Each installs what it
# needs first (scripts/bootstrap), into this directory only.
SHELL := /bin/bash
.DEFAULT_GOAL := test

.PHONY: setup test lint unit integration demo

setup:
	@scripts/bootstrap

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Unit tests need no emulator; integration tests run against a moto server started (and
# stopped, whatever happens) by scripts/with-moto.
test: lint
	scripts/with-moto cargo test --workspace --all-targets

demo: setup
	@echo "make demo: the local end-to-end demo arrives with the CLI (issue 6)."
	@echo "It will start the emulator, create a sample function, run a canary release through"
	@echo "the real state machine and handlers, fire an alarm and show the immediate revert."
