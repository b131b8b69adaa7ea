// Executes statemachine/release.asl.json locally with aws-local-stepfunctions. Each Task is
// dispatched to the real handler binary through Lambda's Invoke API (tests' local-lambda).
//
// usage: node run-workflow.mjs INVOKE_URL EXECUTION_NAME < input.json
// prints: {"status": "SUCCEEDED"|"FAILED", "output"?, "error"?, "cause"?, "states": [...],
//          "inputs": [...each Task's input, in order]}
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const invokeUrl = process.argv[2];
const executionName = process.argv[3];
const input = JSON.parse(readFileSync(0, 'utf8'));
const handlers = {
  Start: 'shiftback-start',
  Advance: 'shiftback-advance',
  Promote: 'shiftback-promote',
  RollBack: 'shiftback-rollback',
  Retain: 'shiftback-retain',
  GateExpired: 'shiftback-advance',
};

// The template's DefinitionSubstitutions, with placeholder ARNs: the overrides below decide
// where each Task really goes.
let text = readFileSync(new URL('../statemachine/release.asl.json', import.meta.url), 'utf8');
for (const [name, fn] of Object.entries({ Start: 'Start', Advance: 'Advance', Promote: 'Promote', Rollback: 'Rollback', Retain: 'Retain' })) {
  text = text.replaceAll('${' + fn + 'FunctionArn}', `arn:aws:lambda:us-east-1:123456789012:function:shiftback-${name.toLowerCase()}`);
}
// The library's Context Object has no Task.Token; the Gate handler below issues its own.
text = text.replaceAll('"task_token.$": "$$.Task.Token"', '"task_token": "issued-by-the-gate-handler"');
const definition = JSON.parse(text);
// The library reads TimeoutSecondsPath from the state's Parameters, where Step Functions reads
// the state's input: give the Gate's Parameters the path the definition names.
definition.States.Gate.Parameters['wait_seconds.$'] = '$.wait_seconds';

const states = [];
// What each Task was given, in order: the Parameters the ASL built for it.
const inputs = [];
async function invoke(binary, payload) {
  const response = await fetch(`${invokeUrl}/2015-03-31/functions/${binary}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    // Beyond the functions' 90 s timeout, which local-lambda enforces.
    signal: AbortSignal.timeout(120_000),
  });
  const body = await response.text();
  let parsed;
  try { parsed = JSON.parse(body); } catch { parsed = body; }
  // A handler error comes back as {errorType, errorMessage}: raise it under that name, as
  // Step Functions does, so Retry and Catch match on it.
  if (!response.ok || (parsed && typeof parsed === 'object' && 'errorType' in parsed)) {
    const error = new Error(JSON.stringify(parsed));
    error.name = parsed?.errorType ?? 'Lambda.Unknown';
    throw error;
  }
  return parsed;
}

const taskResourceLocalHandlers = Object.fromEntries(
  Object.entries(handlers).map(([state, binary]) => [state, async (payload) => {
    states.push(state);
    inputs.push(payload);
    return invoke(binary, payload);
  }]),
);
// aws-local-stepfunctions (3.0) has no `.waitForTaskToken`: the Gate state is played here as
// Step Functions plays it. The advance function registers a fresh token on the release (or
// raises Shiftback.GateClosed), then the wait lasts until SendTaskSuccess or SendTaskFailure
// names the token; moto keeps those answers for us (tests/moto/moto_sfn.py). The library itself
// enforces the state's TimeoutSecondsPath, as States.Timeout.
let gates = 0;
const motoUrl = process.env.AWS_ENDPOINT_URL;
taskResourceLocalHandlers.Gate = async (payload) => {
  states.push('Gate');
  inputs.push(payload);
  const token = `${executionName}-gate-${++gates}`;
  await invoke('shiftback-advance', { ...payload.Payload, task_token: token });
  for (;;) {
    const response = await fetch(`${motoUrl}/moto-api/shiftback/task-result`, {
      method: 'POST', body: JSON.stringify({ token }),
    });
    if (response.status === 200) {
      const result = await response.json();
      if (result.output !== undefined) return JSON.parse(result.output);
      const error = new Error(result.cause ?? '');
      error.name = result.error;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
const retryIntervalOverrides = Object.fromEntries(Object.keys(handlers).map((s) => [s, 10]));

const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
const execution = machine.run(input, {
  overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
  // The Context Object Step Functions gives every execution: the name is the release id.
  context: {
    Execution: { Name: executionName, Input: input, StartTime: new Date().toISOString() },
  },
});
try {
  const output = await execution.result;
  console.log(JSON.stringify({ status: 'SUCCEEDED', output, states, inputs }));
} catch (error) {
  // The library wraps the failing state's error; report the one Step Functions would.
  const failure = error.cause ?? error;
  console.log(JSON.stringify({ status: 'FAILED', error: failure.name, cause: failure.message, states, inputs }));
}
// A Gate's wait may still be polling after the library timed it out: end here.
process.exit(0);
