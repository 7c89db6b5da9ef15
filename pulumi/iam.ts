/** Roles: the server task role (least privilege), the upload role it assumes, and ECS's own roles. */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { serviceTrust, taskRolePolicy, uploadRolePolicy, uploadRoleTrust } from './policies.ts';
import type { ServerSecrets } from './secrets.ts';
import type { Settings } from './settings.ts';

export interface Roles {
  task: aws.iam.Role;
  upload: aws.iam.Role;
  execution: aws.iam.Role;
  instanceProfile: aws.iam.InstanceProfile;
}

export interface RoleTargets {
  input: aws.s3.Bucket;
  output: aws.s3.Bucket;
  queue: aws.sqs.Queue;
  table: aws.dynamodb.Table;
  secrets: ServerSecrets;
}

export function createRoles(s: Settings, t: RoleTargets): Roles {
  const task = new aws.iam.Role(`${s.name}-task`, {
    assumeRolePolicy: JSON.stringify(serviceTrust('ecs-tasks.amazonaws.com')),
  });
  const upload = new aws.iam.Role(`${s.name}-upload`, {
    assumeRolePolicy: task.arn.apply((arn) => JSON.stringify(uploadRoleTrust(arn))),
    maxSessionDuration: 3600,
  });
  new aws.iam.RolePolicy(`${s.name}-upload-policy`, {
    role: upload.id,
    policy: t.input.arn.apply((arn) => JSON.stringify(uploadRolePolicy(arn))),
  });
  new aws.iam.RolePolicy(`${s.name}-task-policy`, {
    role: task.id,
    policy: pulumi
      .all([t.input.arn, t.output.arn, t.queue.arn, t.table.arn, upload.arn])
      .apply(([inputBucketArn, outputBucketArn, queueArn, tableArn, uploadRoleArn]) =>
        JSON.stringify(taskRolePolicy({ inputBucketArn, outputBucketArn, queueArn, tableArn, uploadRoleArn })),
      ),
  });

  const execution = new aws.iam.Role(`${s.name}-execution`, {
    assumeRolePolicy: JSON.stringify(serviceTrust('ecs-tasks.amazonaws.com')),
  });
  new aws.iam.RolePolicyAttachment(`${s.name}-execution-managed`, {
    role: execution.name,
    policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy',
  });
  new aws.iam.RolePolicy(`${s.name}-execution-secret`, {
    role: execution.id,
    policy: pulumi.all(Object.values(t.secrets).map((secret) => secret.arn)).apply((arns) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arns }],
      }),
    ),
  });

  const instance = new aws.iam.Role(`${s.name}-instance`, {
    assumeRolePolicy: JSON.stringify(serviceTrust('ec2.amazonaws.com')),
  });
  new aws.iam.RolePolicyAttachment(`${s.name}-instance-ecs`, {
    role: instance.name,
    policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role',
  });
  const instanceProfile = new aws.iam.InstanceProfile(`${s.name}-instance`, { role: instance.name });
  return { task, upload, execution, instanceProfile };
}
