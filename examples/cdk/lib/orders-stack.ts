import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ShiftbackRelease } from './shiftback-release';

export interface OrdersStackProps extends StackProps {
  /** The shiftback stack's name, whose `<name>-ReleaseProvider` export this stack imports. */
  readonly shiftbackStack: string;
  /** The commit being deployed: a label on the release, in history and notifications. */
  readonly commit: string;
}

/** The same app as examples/sam-app, in CDK: shiftback releases `orders` on every deploy. */
export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props: OrdersStackProps) {
    super(scope, id, props);

    const orders = new Function(this, 'Orders', {
      functionName: 'orders',
      runtime: Runtime.PYTHON_3_15,
      handler: 'index.handler',
      memorySize: 128,
      timeout: Duration.seconds(10),
      code: Code.fromInline('def handler(event, context):\n    return {"ok": True}\n'),
      // Keep the version a new one replaces. CDK's default (DESTROY) would have CloudFormation
      // delete the version `live` still routes to while the release shifts (Lambda refuses:
      // ResourceConflictException), or the one `shiftback rollback` returns to. shiftback's
      // version retention deletes old versions nothing needs.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });

    // cdk-nag's findings on this stand-in for a team's function, each with its reason.
    const acknowledge = (id: string, reason: string) => Validations.of(orders).acknowledge({ id, reason });
    acknowledge(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole grants only CreateLogGroup, CreateLogStream and PutLogEvents: the logs the function writes.',
    );
    acknowledge('Serverless-LambdaDLQ', 'Callers invoke orders synchronously; no asynchronous event could be lost to dead-letter.');
    acknowledge('Serverless-LambdaTracing', 'The example traces nothing; shiftback judges the release from CloudWatch metrics, not X-Ray.');

    // Errors on orders:live, the alias shiftback moves (no CDK Alias: shiftback owns it).
    const errors = new Alarm(this, 'OrdersErrors', {
      alarmDescription: 'Errors on orders:live (the alias shiftback moves)',
      metric: new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensionsMap: { FunctionName: orders.functionName, Resource: `${orders.functionName}:live` },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // `currentVersion` is a new AWS::Lambda::Version whenever the function's configuration
    // changes; the release moves `live` to it in steps.
    new ShiftbackRelease(this, 'OrdersRelease', {
      version: orders.currentVersion,
      alias: 'live',
      strategy: 'Canary10Percent5Minutes',
      alarms: [errors],
      labels: { commit: props.commit },
      shiftbackStack: props.shiftbackStack,
    });
  }
}
