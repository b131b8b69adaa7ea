import { CustomResource, Duration, Fn } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IVersion } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** What `Custom::ShiftbackRelease` takes (docs/src/sam-deploy.md), typed. */
export interface ShiftbackReleaseProps {
  /** The version to release: `fn.currentVersion`, which CDK publishes when the function changes. */
  readonly version: IVersion;
  /** The alias callers invoke. shiftback creates it on the first deploy, then moves it. */
  readonly alias: string;
  /** A strategy's name, e.g. `Canary10Percent5Minutes` (docs/src/strategies.md). */
  readonly strategy?: string;
  /** Alarms that revert the alias at once when they fire. */
  readonly alarms?: IAlarm[];
  /** Where the release came from (`commit`, `build_url`, ...): at most 10. */
  readonly labels?: Record<string, string>;
  /** true: the stack update waits for the release, and fails (rolling back) if it rolled back. */
  readonly wait?: boolean;
  /** Canary analysis on Lambda's per-version metrics; on unless false. */
  readonly analysis?: boolean;
  /**
   * How long CloudFormation waits for the provider (1 s to 1 h). 5 minutes by default: a
   * provider that cannot answer fails the deploy then, not an hour later. With `wait: true`,
   * raise it above the release's longest run.
   */
  readonly serviceTimeout?: Duration;
  /** The shiftback stack's name: its provider is exported as `<name>-ReleaseProvider`. */
  readonly shiftbackStack?: string;
}

/**
 * Hands a function's new version to shiftback, which moves the alias to it in steps. The
 * raw `CustomResource` would do; this names the properties and their types, so a typo fails
 * `tsc`, not the deploy.
 */
export class ShiftbackRelease extends Construct {
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ShiftbackReleaseProps) {
    super(scope, id);
    const shiftbackStack = props.shiftbackStack ?? 'shiftback';
    const properties: Record<string, unknown> = {
      FunctionName: props.version.lambda.functionName,
      Alias: props.alias,
      Version: props.version.version,
      Strategy: props.strategy ?? 'Canary10Percent5Minutes',
      Alarms: (props.alarms ?? []).map((alarm) => alarm.alarmName),
      Wait: props.wait ?? false,
    };
    if (props.labels !== undefined) properties.Labels = props.labels;
    if (props.analysis !== undefined) properties.Analysis = props.analysis;
    this.resource = new CustomResource(this, 'Resource', {
      resourceType: 'Custom::ShiftbackRelease',
      serviceToken: Fn.importValue(`${shiftbackStack}-ReleaseProvider`),
      serviceTimeout: props.serviceTimeout ?? Duration.minutes(5),
      properties,
    });
  }
}
