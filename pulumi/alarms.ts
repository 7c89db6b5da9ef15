/** CloudWatch alarms: DLQ not empty, oldest chunk event too old, 5xx rate too high, sessions taken over. */
import * as aws from '@pulumi/aws';
import type { Settings } from './settings.ts';

export interface AlarmTargets {
  queue: aws.sqs.Queue;
  dlq: aws.sqs.Queue;
  loadBalancer: aws.lb.LoadBalancer;
  logGroup: aws.cloudwatch.LogGroup;
}

export interface Alarms {
  dlqNotEmpty: aws.cloudwatch.MetricAlarm;
  oldestMessage: aws.cloudwatch.MetricAlarm;
  errorRate: aws.cloudwatch.MetricAlarm;
  takeovers: aws.cloudwatch.MetricAlarm;
}

const NAMESPACE = 'StereoSpotLive';

export function createAlarms(s: Settings, t: AlarmTargets): Alarms {
  const actions = s.alarmTopicArn ? [s.alarmTopicArn] : [];
  const dlqNotEmpty = new aws.cloudwatch.MetricAlarm(`${s.name}-dlq-not-empty`, {
    alarmDescription: 'Chunk events failed repeatedly and were moved to the DLQ',
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: t.dlq.name },
    statistic: 'Maximum',
    period: 60,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: actions,
  });
  const oldestMessage = new aws.cloudwatch.MetricAlarm(`${s.name}-oldest-chunk-event`, {
    alarmDescription: 'Chunk events wait too long: the servers are not keeping up',
    namespace: 'AWS/SQS',
    metricName: 'ApproximateAgeOfOldestMessage',
    dimensions: { QueueName: t.queue.name },
    statistic: 'Maximum',
    period: 60,
    evaluationPeriods: 3,
    threshold: s.oldestMessageAlarmSeconds,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: actions,
  });
  const lb = t.loadBalancer.arnSuffix;
  const errorRate = new aws.cloudwatch.MetricAlarm(`${s.name}-5xx-rate`, {
    alarmDescription: 'Too many requests end in 5xx',
    evaluationPeriods: 3,
    threshold: s.errorRateAlarmPercent,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: actions,
    metricQueries: [
      {
        id: 'rate',
        expression: '100 * (errors_target + errors_elb) / MAX([requests, 1])',
        label: '5xx percent',
        returnData: true,
      },
      ...(['HTTPCode_Target_5XX_Count', 'HTTPCode_ELB_5XX_Count', 'RequestCount'] as const).map((metricName, i) => ({
        id: ['errors_target', 'errors_elb', 'requests'][i]!,
        metric: { namespace: 'AWS/ApplicationELB', metricName, dimensions: { LoadBalancer: lb }, period: 60, stat: 'Sum' },
      })),
    ],
  });
  // A node that stops renewing its leases (crashed, hung, cut off) has its sessions taken over: the
  // servers log each takeover; a metric filter counts them.
  new aws.cloudwatch.LogMetricFilter(`${s.name}-takeovers`, {
    logGroupName: t.logGroup.name,
    pattern: '"session taken over"',
    metricTransformation: { name: 'SessionTakeovers', namespace: NAMESPACE, value: '1', defaultValue: '0' },
  });
  const takeovers = new aws.cloudwatch.MetricAlarm(`${s.name}-session-takeovers`, {
    alarmDescription: 'Sessions were taken over from a server node that stopped renewing its leases',
    namespace: NAMESPACE,
    metricName: 'SessionTakeovers',
    statistic: 'Sum',
    period: 300,
    evaluationPeriods: 1,
    threshold: s.takeoverAlarmCount,
    comparisonOperator: 'GreaterThanOrEqualToThreshold',
    treatMissingData: 'notBreaching',
    alarmActions: actions,
  });
  return { dlqNotEmpty, oldestMessage, errorRate, takeovers };
}
