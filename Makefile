# The two commands the README promises: `make test` and `make demo`. Each installs what it
# needs first (scripts/bootstrap), into this directory only.
SHELL := /bin/bash
.DEFAULT_GOAL := test
export SAM_CLI_TELEMETRY := 0

.PHONY: setup test lint template unit-and-integration build bench demo

setup:
	@scripts/bootstrap

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# cfn-lint does not look inside the ASL; the workflow tests execute it instead. checkov fails on
# any check not passed or skipped with a reason beside its resource in template.yaml.
template: setup
	.venv-sam/bin/cfn-lint template.yaml
	.venv-sam/bin/python scripts/check_template.py --self-test
	.venv-sam/bin/python scripts/check_template.py template.yaml
	.venv-sam/bin/sam validate --lint --region us-east-1
	.venv-checkov/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

# Unit tests need no emulator; integration tests run against a moto server started (and
# stopped, whatever happens) by scripts/with-moto.
unit-and-integration: setup
	scripts/with-moto cargo test --workspace --all-targets

build: setup
	scripts/sam-build

test: lint template unit-and-integration build

# Figures, printed; never asserted as timings in tests. The handlers are measured as deployed:
# release builds (for this machine's CPU), started cold against a minimal Runtime API.
HANDLERS := shiftback-start shiftback-advance shiftback-finalize shiftback-rollback shiftback-alarm
bench: setup
	cargo build --release $(addprefix -p ,$(HANDLERS))
	SHIFTBACK_HANDLERS_DIR=$(CURDIR)/target/release scripts/with-moto \
		cargo bench -p shiftback-integration-tests --profile dev --bench figures

# The whole story locally in a few minutes (see README): needs no AWS account.
demo: setup
	scripts/with-moto scripts/demo
