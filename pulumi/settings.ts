/** The stack's settings: Pulumi config with defaults in one place. */
import * as pulumi from '@pulumi/pulumi';

export interface Settings {
  /** Prefix of every resource name. */
  name: string;
  /** Days after which uploaded chunks (`stream_input/`) and segments (`stream_output/`) expire. */
  inputExpirationDays: number;
  outputExpirationDays: number;
  /** Receives before a chunk event moves to the DLQ. */
  maxReceiveCount: number;
  /** SQS visibility timeout: above the worst chunk processing time (the server also extends it). */
  visibilityTimeoutSeconds: number;
  /** Origins allowed to fetch segments from the output bucket (browser players). */
  corsOrigins: string[];
  instanceType: string;
  /** Server tasks: two by default, so a node can fail and its sessions move (leases + the bus). */
  desiredCount: number;
  /** ElastiCache node type of the bus. */
  cacheNodeType: string;
  minInstances: number;
  maxInstances: number;
  /** The server image (built from the project's Dockerfile and pushed by the operator). */
  image: string;
  /** HMAC key shared by every server node (tokens, control sockets). */
  signingSecret: pulumi.Output<string>;
  /** The server's ADMIN_TOKEN (16+ characters): required, the load balancer is reachable from anywhere. */
  adminToken: pulumi.Output<string>;
  /** The bus's AUTH token (16–128 printable characters, none of `@ " /`). */
  cacheAuthToken: pulumi.Output<string>;
  /** An ACM certificate ARN enables HTTPS on the load balancer. */
  certificateArn: string | undefined;
  /** VPC and subnets; the account's default VPC when unset. */
  vpcId: string | undefined;
  subnetIds: string[] | undefined;
  /** Alarm when the oldest chunk event is older than this (seconds). */
  oldestMessageAlarmSeconds: number;
  /** Alarm when more than this percentage of requests end in 5xx. */
  errorRateAlarmPercent: number;
  /** Alarm when this many sessions are taken over from a node that stopped renewing its leases (5 min). */
  takeoverAlarmCount: number;
  /** SNS topic notified by the alarms. */
  alarmTopicArn: string | undefined;
  sessionTtlDays: number;
}

export function loadSettings(config = new pulumi.Config('stereospot')): Settings {
  return {
    name: config.get('name') ?? 'stereospot',
    inputExpirationDays: config.getNumber('inputExpirationDays') ?? 1,
    outputExpirationDays: config.getNumber('outputExpirationDays') ?? 7,
    maxReceiveCount: config.getNumber('maxReceiveCount') ?? 5,
    visibilityTimeoutSeconds: config.getNumber('visibilityTimeoutSeconds') ?? 300,
    corsOrigins: config.getObject<string[]>('corsOrigins') ?? ['*'],
    instanceType: config.get('instanceType') ?? 'g4dn.xlarge',
    desiredCount: config.getNumber('desiredCount') ?? 2,
    cacheNodeType: config.get('cacheNodeType') ?? 'cache.t4g.small',
    minInstances: config.getNumber('minInstances') ?? 1,
    maxInstances: config.getNumber('maxInstances') ?? 4,
    image: config.get('image') ?? 'stereospot-live:latest',
    signingSecret: config.requireSecret('signingSecret'),
    adminToken: config.requireSecret('adminToken'),
    cacheAuthToken: config.requireSecret('cacheAuthToken'),
    certificateArn: config.get('certificateArn'),
    vpcId: config.get('vpcId'),
    subnetIds: config.getObject<string[]>('subnetIds'),
    oldestMessageAlarmSeconds: config.getNumber('oldestMessageAlarmSeconds') ?? 120,
    errorRateAlarmPercent: config.getNumber('errorRateAlarmPercent') ?? 5,
    takeoverAlarmCount: config.getNumber('takeoverAlarmCount') ?? 1,
    alarmTopicArn: config.get('alarmTopicArn'),
    sessionTtlDays: config.getNumber('sessionTtlDays') ?? 7,
  };
}
