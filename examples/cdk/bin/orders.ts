import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { OrdersStack } from '../lib/orders-stack';

const app = new App();
// No `env`: an environment-agnostic stack needs no account, credentials or lookups to synth.
new OrdersStack(app, 'Orders', {
  shiftbackStack: app.node.tryGetContext('shiftbackStack') ?? 'shiftback',
  commit: app.node.tryGetContext('commit') ?? 'unknown',
});
// cdk-nag: an error fails `cdk synth`; each finding is passed or suppressed with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
