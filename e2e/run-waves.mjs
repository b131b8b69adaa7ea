// Executes statemachine/waves.asl.json locally with aws-local-stepfunctions. Its Lambda tasks
// (Create, Look: `arn:aws:states:::lambda:invoke`) go to the real handlers binary through
// Lambda's Invoke API (tests' local-lambda), as the integration passes them: the Payload in,
// {Payload: answer} out. ContinueAsNew is recorded, not started. Waits last WAIT_MS.
//
// usage: node run-waves.mjs INVOKE_URL EXECUTION_NAME WAIT_MS < input.json
// prints: {"status": "SUCCEEDED"|"FAILED", "output"?, "error"?, "cause"?, "states": [...],
//          "continued": [...each ContinueAsNew's input]}
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const [invokeUrl, executionName, waitMs] = process.argv.slice(2);
const input = JSON.parse(readFileSync(0, 'utf8'));
const coordinator = 'arn:aws:lambda:us-east-1:123456789012:function:shiftback-waves';
const machineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:shiftback-waves';
const text = readFileSync(new URL('../statemachine/waves.asl.json', import.meta.url), 'utf8')
  .replaceAll('${WavesFunctionArn}', coordinator);
const definition = JSON.parse(text);

const states = [];
const continued = [];
async function invoke(payload) {
  const response = await fetch(`${invokeUrl}/2015-03-31/functions/shiftback-waves/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(180_000),
  });
  const body = await response.text();
  let parsed;
  try { parsed = JSON.parse(body); } catch { parsed = body; }
  if (!response.ok || (parsed && typeof parsed === 'object' && 'errorType' in parsed)) {
    const error = new Error(parsed?.errorMessage ?? JSON.stringify(parsed));
    error.name = parsed?.errorType ?? 'Lambda.Unknown';
    throw error;
  }
  return parsed;
}
const lambdaTask = (state) => async (parameters) => {
  states.push(state);
  if (parameters.FunctionName !== coordinator) throw new Error(`unexpected function ${parameters.FunctionName}`);
  return { Payload: await invoke(parameters.Payload), StatusCode: 200 };
};
const taskResourceLocalHandlers = {
  Create: lambdaTask('Create'),
  Look: lambdaTask('Look'),
  ContinueAsNew: async (parameters) => {
    states.push('ContinueAsNew');
    continued.push(parameters);
    return {};
  },
};
const waitTimeOverrides = { Wait: Number(waitMs) };
const retryIntervalOverrides = { Create: 10, Look: 10, ContinueAsNew: 10 };

const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
const execution = machine.run(input, {
  overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
  context: {
    Execution: { Name: executionName, Input: input, StartTime: new Date().toISOString() },
    StateMachine: { Id: machineArn, Name: 'shiftback-waves' },
  },
});
try {
  const output = await execution.result;
  console.log(JSON.stringify({ status: 'SUCCEEDED', output, states, continued }));
} catch (error) {
  const failure = error.cause ?? error;
  console.log(JSON.stringify({ status: 'FAILED', error: failure.name, cause: failure.message, states, continued }));
}
process.exit(0);
