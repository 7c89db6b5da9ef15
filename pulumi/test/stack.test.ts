/**
 * The Pulumi program under Pulumi's mocks: no cloud access. Every resource the program registers is
 * recorded with its resolved inputs (and, through a stack transformation, its dependsOn), then the
 * rules that matter for security and delivery are asserted on them.
 */
import * as pulumi from '@pulumi/pulumi';
import t from 'tap';

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

const resources: Recorded[] = [];
const dependsOn = new Map<string, string[]>();

await pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs });
      const id = `${args.name}-id`;
      const state: Record<string, unknown> = {
        ...args.inputs,
        arn: `arn:aws:mock:::${args.name}`,
        name: args.inputs.name ?? args.name,
        bucket: args.inputs.bucket ?? `${args.name}-bucket`,
      };
      if (args.type === 'aws:sqs/queue:Queue') state.url = `https://sqs.mock/123456789012/${args.name}`;
      if (args.type === 'aws:elasticache/replicationGroup:ReplicationGroup') state.primaryEndpointAddress = `${args.name}.cache.mock`;
      if (args.type === 'aws:lb/loadBalancer:LoadBalancer') {
        state.dnsName = `${args.name}.elb.mock`;
        state.arnSuffix = `app/${args.name}/1`;
      }
      return { id, state };
    },
    call(args) {
      switch (args.token) {
        case 'aws:ec2/getVpc:getVpc':
          return { id: 'vpc-123' };
        case 'aws:ec2/getSubnets:getSubnets':
          return { ids: ['subnet-a', 'subnet-b'] };
        case 'aws:ssm/getParameter:getParameter':
          return { value: 'ami-gpu-123', name: args.inputs.name };
        case 'aws:index/getRegion:getRegion':
          return { name: 'eu-west-1', region: 'eu-west-1', id: 'eu-west-1' };
        default:
          return args.inputs;
      }
    },
  },
  'stereospot-live',
  'test',
  false,
);
// Mocks do not pass dependencies to newResource; the registration request carries them, so record
// them where the mock monitor receives it (URNs end with the resource's name).
const { MockMonitor } = (await import('@pulumi/pulumi/runtime/mocks.js')) as unknown as {
  MockMonitor: { prototype: { registerResource(req: RegisterRequest, cb: unknown): Promise<void> } };
};
interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}
const register = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req, cb) {
  dependsOn.set(
    req.getName(),
    req.getDependenciesList().map((urn) => urn.split('::').pop()!),
  );
  return register.call(this, req, cb);
};

const { createStack } = await import('../stack.ts');
const { loadSettings } = await import('../settings.ts');
const { uploadRolePolicy } = await import('../policies.ts');

/** Resolves a Pulumi output (mocks resolve them immediately). */
function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

pulumi.runtime.setConfig('stereospot:signingSecret', 'test-signing-secret-0123456789');
pulumi.runtime.setConfig('stereospot:adminToken', 'test-admin-token-0123456789');
pulumi.runtime.setConfig('stereospot:cacheAuthToken', 'test-cache-auth/token+0123456789');
pulumi.runtime.setConfig('stereospot:maxReceiveCount', '4');
const outputs = createStack(loadSettings());
// Let every registration settle.
const resolved = Object.fromEntries(await Promise.all(Object.entries(outputs).map(async ([k, v]) => [k, await value(v)])));
await new Promise((r) => setTimeout(r, 50));

const byType = (type: string) => resources.filter((r) => r.type === type);
const one = (type: string, nameIncludes = '') => {
  const found = byType(type).filter((r) => r.name.includes(nameIncludes));
  if (found.length !== 1) throw new Error(`expected one ${type} named *${nameIncludes}*, found ${found.length}`);
  return found[0]!;
};
const policyOf = (r: Recorded) => JSON.parse(r.inputs.policy as string);
/** A secret input reaches the mocks as `{ <secret sig>: …, value }`: its value, or undefined when it was not secret. */
const secretValue = (input: unknown) =>
  typeof input === 'object' &&
  input !== null &&
  pulumi.runtime.specialSigKey in input &&
  (input as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
    ? (input as unknown as { value: unknown }).value
    : undefined;

t.test('outputs are named as the server environment keys', async (t) => {
  t.same(Object.keys(resolved).sort(), [
    'AWS_REGION',
    'INPUT_BUCKET_NAME',
    'OUTPUT_BUCKET_NAME',
    'PUBLIC_BASE_URL',
    'STREAM_SESSIONS_TABLE_NAME',
    'STREAM_UPLOAD_ROLE_ARN',
    'VIDEO_WORKER_QUEUE_URL',
  ]);
  t.equal(resolved.AWS_REGION, 'eu-west-1');
  t.match(resolved.VIDEO_WORKER_QUEUE_URL, /^https:\/\/sqs\.mock\/.+video-worker$/);
  t.equal(resolved.PUBLIC_BASE_URL, 'http://stereospot-alb.elb.mock');
});

t.test('the notification sends stream_input/*.mp4 created events to the queue, after the queue policy', async (t) => {
  const n = one('aws:s3/bucketNotification:BucketNotification');
  t.equal(n.inputs.bucket, 'stereospot-input-id');
  t.equal(n.inputs.queues.length, 1);
  t.match(n.inputs.queues[0], {
    queueArn: 'arn:aws:mock:::stereospot-video-worker',
    events: ['s3:ObjectCreated:*'],
    filterPrefix: 'stream_input/',
    filterSuffix: '.mp4',
  });
  const deps = dependsOn.get(n.name) ?? [];
  t.ok(deps.includes('stereospot-video-worker-policy'), `depends on the queue policy (got ${deps.join(', ')})`);
});

t.test('the queue policy lets only the input bucket send (aws:SourceArn)', async (t) => {
  const p = policyOf(one('aws:sqs/queuePolicy:QueuePolicy'));
  t.equal(p.Statement.length, 1);
  t.match(p.Statement[0], {
    Effect: 'Allow',
    Principal: { Service: 's3.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: 'arn:aws:mock:::stereospot-video-worker',
    Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:mock:::stereospot-input' } },
  });
});

t.test('the DLQ redrive uses the configured receive count; visibility is above processing time', async (t) => {
  const candidates = byType('aws:sqs/queue:Queue');
  t.equal(candidates.length, 2);
  const main = candidates.find((r) => !r.name.endsWith('dlq'))!;
  t.same(JSON.parse(main.inputs.redrivePolicy), { deadLetterTargetArn: 'arn:aws:mock:::stereospot-video-worker-dlq', maxReceiveCount: 4 });
  t.ok(main.inputs.visibilityTimeoutSeconds >= 120);
});

t.test('the upload role may only put and abort uploads under stream_input/, and only the task role assumes it', async (t) => {
  const policy = policyOf(one('aws:iam/rolePolicy:RolePolicy', 'upload-policy'));
  t.same(policy, uploadRolePolicy('arn:aws:mock:::stereospot-input'));
  const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort();
  t.same(actions, ['s3:AbortMultipartUpload', 's3:PutObject']);
  t.ok(policy.Statement.every((s: { Resource: string }) => s.Resource === 'arn:aws:mock:::stereospot-input/stream_input/*'));
  const trust = JSON.parse(one('aws:iam/role:Role', 'upload').inputs.assumeRolePolicy);
  t.same(trust.Statement, [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:mock:::stereospot-task' }, Action: 'sts:AssumeRole' }]);
});

t.test('the task role cannot read other prefixes or assume other roles', async (t) => {
  const policy = policyOf(one('aws:iam/rolePolicy:RolePolicy', 'task-policy'));
  const statements = policy.Statement as Array<{ Action: string[]; Resource: string; Effect: string }>;
  t.ok(statements.every((s) => s.Effect === 'Allow'));
  const resourcesFor = (action: string) => statements.filter((s) => s.Action.includes(action)).map((s) => s.Resource);
  t.same(resourcesFor('s3:GetObject').sort(), [
    'arn:aws:mock:::stereospot-input/stream_input/*',
    'arn:aws:mock:::stereospot-output/stream_output/*',
  ]);
  t.same(resourcesFor('s3:PutObject'), ['arn:aws:mock:::stereospot-output/stream_output/*'], 'writes segments only');
  t.same(resourcesFor('sts:AssumeRole'), ['arn:aws:mock:::stereospot-upload'], 'assumes the upload role only');
  t.notOk(
    statements.some((s) => s.Action.some((a) => a.endsWith('*') || a === '*')),
    'no wildcard actions',
  );
  t.notOk(
    statements.some((s) => s.Resource === '*'),
    'no wildcard resources',
  );
});

t.test('the session table: session_id hash key, on demand, TTL on ttl', async (t) => {
  const table = one('aws:dynamodb/table:Table');
  t.equal(table.inputs.hashKey, 'session_id');
  t.same(table.inputs.attributes, [{ name: 'session_id', type: 'S' }]);
  t.equal(table.inputs.billingMode, 'PAY_PER_REQUEST');
  t.same(table.inputs.ttl, { attributeName: 'ttl', enabled: true });
});

t.test('buckets are private, encrypted, unversioned, and expire their prefixes', async (t) => {
  t.equal(byType('aws:s3/bucket:Bucket').length, 2);
  t.equal(
    byType('aws:s3/bucketVersioning:BucketVersioning').length + byType('aws:s3/bucketVersioningV2:BucketVersioningV2').length,
    0,
    'versioning never enabled',
  );
  for (const block of byType('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')) {
    t.match(block.inputs, { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  }
  t.equal(byType('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').length, 2);
  const rules = byType('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').map((r) => r.inputs.rules[0]);
  t.match(rules, [
    { status: 'Enabled', filter: { prefix: 'stream_input/' }, expiration: { days: 1 } },
    { status: 'Enabled', filter: { prefix: 'stream_output/' }, expiration: { days: 7 } },
  ]);
  const cors = byType('aws:s3/bucketCorsConfiguration:BucketCorsConfiguration');
  const output = cors.find((c) => c.inputs.bucket === 'stereospot-output-id');
  t.same(output?.inputs.corsRules[0].allowedMethods, ['GET', 'HEAD'], 'players read the output bucket from the browser');
  const input = cors.find((c) => c.inputs.bucket === 'stereospot-input-id');
  t.same(input?.inputs.corsRules[0].allowedMethods, ['PUT'], 'the capture page writes chunks to the input bucket, and only writes');
});

t.test('compute: GPU capacity, WebSocket-friendly ALB, /healthz, the env keys in the task', async (t) => {
  t.equal(one('aws:ec2/launchTemplate:LaunchTemplate').inputs.imageId, 'ami-gpu-123');
  t.equal(one('aws:lb/loadBalancer:LoadBalancer').inputs.idleTimeout, 3600);
  t.equal(one('aws:lb/targetGroup:TargetGroup').inputs.healthCheck.path, '/healthz');
  const containers = JSON.parse(one('aws:ecs/taskDefinition:TaskDefinition').inputs.containerDefinitions);
  t.same(containers[0].resourceRequirements, [{ type: 'GPU', value: '1' }]);
  const env = Object.fromEntries(containers[0].environment.map((e: { name: string; value: string }) => [e.name, e.value]));
  for (const key of [
    'PROFILE',
    'INPUT_BUCKET_NAME',
    'OUTPUT_BUCKET_NAME',
    'AWS_REGION',
    'STREAM_SESSIONS_TABLE_NAME',
    'VIDEO_WORKER_QUEUE_URL',
    'STREAM_UPLOAD_ROLE_ARN',
    'STREAMING_ENABLED',
    'PUBLIC_BASE_URL',
    'TRUST_PROXY',
  ]) {
    t.ok(env[key], `${key} is set`);
  }
  t.same(
    containers[0].secrets,
    [
      { name: 'SIGNING_SECRET', valueFrom: 'arn:aws:mock:::stereospot-signing-secret' },
      { name: 'ADMIN_TOKEN', valueFrom: 'arn:aws:mock:::stereospot-admin-token' },
      { name: 'REDIS_URL', valueFrom: 'arn:aws:mock:::stereospot-bus-url' },
    ],
    'the signing secret, the admin token and the bus URL come from Secrets Manager',
  );
  for (const key of ['SIGNING_SECRET', 'ADMIN_TOKEN', 'REDIS_URL']) t.notOk(key in env, `${key} is not in the plain environment`);
  t.notMatch(
    containers[0].environment.map((e: { value: string }) => e.value).join(' '),
    /test-(admin|cache|signing)/,
    'no secret value in the task definition',
  );
  t.equal(one('aws:ecs/service:Service').inputs.desiredCount, 2, 'two nodes by default');
});

t.test('secrets: the task execution role reads exactly the three server secrets; the bus URL carries the auth token', async (t) => {
  const versions = Object.fromEntries(
    byType('aws:secretsmanager/secretVersion:SecretVersion').map((r) => [r.name, secretValue(r.inputs.secretString)]),
  );
  t.same(
    versions,
    {
      'stereospot-signing-secret': 'test-signing-secret-0123456789',
      'stereospot-admin-token': 'test-admin-token-0123456789',
      'stereospot-bus-url': 'rediss://:test-cache-auth%2Ftoken%2B0123456789@stereospot-bus.cache.mock:6379',
    },
    'each kept secret in the state; the bus over TLS, with its AUTH token escaped in the URL',
  );
  const policy = policyOf(one('aws:iam/rolePolicy:RolePolicy', 'execution-secret'));
  t.same(policy.Statement, [
    {
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: ['arn:aws:mock:::stereospot-signing-secret', 'arn:aws:mock:::stereospot-admin-token', 'arn:aws:mock:::stereospot-bus-url'],
    },
  ]);
});

t.test('the bus: Valkey in the VPC, encrypted, reachable from the server instances only', async (t) => {
  const group = one('aws:elasticache/replicationGroup:ReplicationGroup');
  t.match(group.inputs, {
    engine: 'valkey',
    numCacheClusters: 2,
    automaticFailoverEnabled: true,
    transitEncryptionEnabled: true,
    atRestEncryptionEnabled: true,
  });
  t.equal(secretValue(group.inputs.authToken), 'test-cache-auth/token+0123456789', 'clients must AUTH (a secret input)');
  const groups = byType('aws:ec2/securityGroup:SecurityGroup');
  const cacheSg = groups.find((g) => g.name === 'stereospot-cache')!;
  t.same(group.inputs.securityGroupIds, ['stereospot-cache-id']);
  t.same(
    cacheSg.inputs.ingress.map((r: { fromPort: number; toPort: number; securityGroups?: string[]; cidrBlocks?: string[] }) => [
      r.fromPort,
      r.toPort,
      r.securityGroups,
      r.cidrBlocks,
    ]),
    [[6379, 6379, ['stereospot-instances-id'], undefined]],
    'only the instances, only 6379, no CIDR',
  );
  t.equal(one('aws:elasticache/subnetGroup:SubnetGroup').inputs.subnetIds.length, 2, 'in the VPC subnets');
});

t.test('alarms: DLQ not empty, oldest message age, 5xx rate, session takeovers', async (t) => {
  const alarms = byType('aws:cloudwatch/metricAlarm:MetricAlarm');
  t.equal(alarms.length, 4);
  const filter = one('aws:cloudwatch/logMetricFilter:LogMetricFilter');
  t.equal(filter.inputs.pattern, '"session taken over"', "takeovers are counted from the servers' log line");
  t.match(alarms.find((a) => a.name.includes('takeovers'))!.inputs, {
    namespace: filter.inputs.metricTransformation.namespace,
    metricName: filter.inputs.metricTransformation.name,
    threshold: 1,
  });
  t.match(alarms.find((a) => a.name.includes('dlq'))!.inputs, {
    metricName: 'ApproximateNumberOfMessagesVisible',
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
  });
  t.match(alarms.find((a) => a.name.includes('oldest'))!.inputs, { metricName: 'ApproximateAgeOfOldestMessage', threshold: 120 });
  t.match(alarms.find((a) => a.name.includes('5xx'))!.inputs.metricQueries[0], { id: 'rate', returnData: true });
});
