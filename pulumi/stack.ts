/**
 * Everything the AWS profile needs, composed. Returns the stack outputs, named as the server's
 * environment keys so `pulumi stack output --shell` can feed the server directly.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { createAlarms } from './alarms.ts';
import { createCache } from './cache.ts';
import { createCompute } from './compute.ts';
import { createRoles } from './iam.ts';
import { createNetwork } from './network.ts';
import { createQueues } from './queue.ts';
import { createSecrets } from './secrets.ts';
import type { Settings } from './settings.ts';
import { createStorage } from './storage.ts';
import { createTable } from './table.ts';

export interface StackOutputs {
  AWS_REGION: pulumi.Output<string>;
  INPUT_BUCKET_NAME: pulumi.Output<string>;
  OUTPUT_BUCKET_NAME: pulumi.Output<string>;
  STREAM_SESSIONS_TABLE_NAME: pulumi.Output<string>;
  VIDEO_WORKER_QUEUE_URL: pulumi.Output<string>;
  STREAM_UPLOAD_ROLE_ARN: pulumi.Output<string>;
  PUBLIC_BASE_URL: pulumi.Output<string>;
}

export function createStack(s: Settings): StackOutputs {
  const { input, output } = createStorage(s);
  const { queue, dlq } = createQueues(s, input);
  const table = createTable(s);
  const network = createNetwork(s);
  const cache = createCache(s, network);
  const secrets = createSecrets(s, cache.url);
  const roles = createRoles(s, { input, output, queue, table, secrets });
  const keys = {
    AWS_REGION: aws.getRegionOutput().region,
    INPUT_BUCKET_NAME: input.bucket,
    OUTPUT_BUCKET_NAME: output.bucket,
    STREAM_SESSIONS_TABLE_NAME: table.name,
    VIDEO_WORKER_QUEUE_URL: queue.url,
    STREAM_UPLOAD_ROLE_ARN: roles.upload.arn,
  };
  const environment = {
    ...keys,
    PROFILE: 'aws',
    STREAMING_ENABLED: 'true',
    // Behind the load balancer: the client address (for MAX_SESSIONS_PER_CLIENT) is the one it appends.
    TRUST_PROXY: 'true',
    SQS_VISIBILITY_SECONDS: String(s.visibilityTimeoutSeconds),
    SESSION_TTL_DAYS: String(s.sessionTtlDays),
  };
  const compute = createCompute(s, {
    network,
    taskRole: roles.task,
    executionRole: roles.execution,
    instanceProfile: roles.instanceProfile,
    secrets,
    environment: pulumi.output(environment),
  });
  createAlarms(s, { queue, dlq, loadBalancer: compute.loadBalancer, logGroup: compute.logGroup });
  return { ...keys, PUBLIC_BASE_URL: compute.publicBaseUrl };
}
