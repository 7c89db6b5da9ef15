/**
 * Compute: an ECS cluster on GPU instances (EC2 Auto Scaling group through a capacity provider)
 * running the server image behind an Application Load Balancer with a WebSocket-friendly idle
 * timeout and a `/healthz` health check.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Network } from './network.ts';
import type { ServerSecrets } from './secrets.ts';
import type { Settings } from './settings.ts';

export interface ComputeInputs {
  network: Network;
  taskRole: aws.iam.Role;
  executionRole: aws.iam.Role;
  instanceProfile: aws.iam.InstanceProfile;
  /** Read by ECS from Secrets Manager into the task's environment. */
  secrets: ServerSecrets;
  /** The server's plain environment (the AWS profile's keys). */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface Compute {
  cluster: aws.ecs.Cluster;
  service: aws.ecs.Service;
  loadBalancer: aws.lb.LoadBalancer;
  targetGroup: aws.lb.TargetGroup;
  /** `http(s)://{alb dns}`: the server's PUBLIC_BASE_URL. */
  publicBaseUrl: pulumi.Output<string>;
  /** The servers' logs (metric filters read them). */
  logGroup: aws.cloudwatch.LogGroup;
}

const CONTAINER_PORT = 8000;

export function createCompute(s: Settings, c: ComputeInputs): Compute {
  const { vpcId, subnetIds, albSg, instanceSg } = c.network;

  const cluster = new aws.ecs.Cluster(`${s.name}-cluster`, {
    settings: [{ name: 'containerInsights', value: 'enabled' }],
  });
  const ami = aws.ssm.getParameterOutput({ name: '/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id' }).value;
  const launchTemplate = new aws.ec2.LaunchTemplate(`${s.name}-gpu`, {
    imageId: ami,
    instanceType: s.instanceType,
    iamInstanceProfile: { arn: c.instanceProfile.arn },
    vpcSecurityGroupIds: [instanceSg.id],
    metadataOptions: { httpTokens: 'required' },
    userData: cluster.name.apply((name) =>
      Buffer.from(
        `#!/bin/bash\necho ECS_CLUSTER=${name} >> /etc/ecs/ecs.config\necho ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config\n`,
      ).toString('base64'),
    ),
  });
  const asg = new aws.autoscaling.Group(`${s.name}-gpu`, {
    vpcZoneIdentifiers: subnetIds,
    minSize: s.minInstances,
    maxSize: s.maxInstances,
    desiredCapacity: s.minInstances,
    launchTemplate: { id: launchTemplate.id, version: '$Latest' },
    tags: [{ key: 'AmazonECSManaged', value: 'true', propagateAtLaunch: true }],
  });
  const capacityProvider = new aws.ecs.CapacityProvider(`${s.name}-gpu`, {
    autoScalingGroupProvider: {
      autoScalingGroupArn: asg.arn,
      managedScaling: { status: 'ENABLED', targetCapacity: 100 },
      managedTerminationProtection: 'DISABLED',
    },
  });
  new aws.ecs.ClusterCapacityProviders(`${s.name}-cluster-capacity`, {
    clusterName: cluster.name,
    capacityProviders: [capacityProvider.name],
    defaultCapacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1 }],
  });

  const loadBalancer = new aws.lb.LoadBalancer(`${s.name}-alb`, {
    loadBalancerType: 'application',
    securityGroups: [albSg.id],
    subnets: subnetIds,
    // Session sockets stay open for a whole stream: far above the 60 s default.
    idleTimeout: 3600,
  });
  const targetGroup = new aws.lb.TargetGroup(`${s.name}-server`, {
    vpcId,
    port: CONTAINER_PORT,
    protocol: 'HTTP',
    targetType: 'instance',
    deregistrationDelay: 30,
    healthCheck: { path: '/healthz', matcher: '200', interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
  });
  const listener = s.certificateArn
    ? new aws.lb.Listener(`${s.name}-https`, {
        loadBalancerArn: loadBalancer.arn,
        port: 443,
        protocol: 'HTTPS',
        certificateArn: s.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      })
    : new aws.lb.Listener(`${s.name}-http`, {
        loadBalancerArn: loadBalancer.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      });
  const publicBaseUrl = pulumi.interpolate`${s.certificateArn ? 'https' : 'http'}://${loadBalancer.dnsName}`;

  const logGroup = new aws.cloudwatch.LogGroup(`${s.name}-server`, { retentionInDays: 30 });
  const region = aws.getRegionOutput().region;
  const containerDefinitions = pulumi
    .all([c.environment, secretArns(c.secrets), logGroup.name, region, publicBaseUrl])
    .apply(([env, secrets, logs, awsRegion, base]) =>
      JSON.stringify([
        {
          name: 'server',
          image: s.image,
          essential: true,
          memoryReservation: 4096,
          portMappings: [{ containerPort: CONTAINER_PORT, hostPort: 0, protocol: 'tcp' }],
          resourceRequirements: [{ type: 'GPU', value: '1' }],
          environment: Object.entries({ ...env, PUBLIC_BASE_URL: base, PORT: String(CONTAINER_PORT) }).map(([name, value]) => ({
            name,
            value,
          })),
          secrets: Object.entries(secrets).map(([name, valueFrom]) => ({ name, valueFrom })),
          stopTimeout: 60,
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': logs, 'awslogs-region': awsRegion, 'awslogs-stream-prefix': 'server' },
          },
        },
      ]),
    );
  const taskDefinition = new aws.ecs.TaskDefinition(`${s.name}-server`, {
    family: `${s.name}-server`,
    requiresCompatibilities: ['EC2'],
    networkMode: 'bridge',
    taskRoleArn: c.taskRole.arn,
    executionRoleArn: c.executionRole.arn,
    containerDefinitions,
  });
  const service = new aws.ecs.Service(
    `${s.name}-server`,
    {
      cluster: cluster.arn,
      taskDefinition: taskDefinition.arn,
      desiredCount: s.desiredCount,
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.name, weight: 1 }],
      loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: 'server', containerPort: CONTAINER_PORT }],
      healthCheckGracePeriodSeconds: 60,
      deploymentMinimumHealthyPercent: 50,
      deploymentMaximumPercent: 200,
    },
    { dependsOn: [listener] },
  );
  return { cluster, service, loadBalancer, targetGroup, publicBaseUrl, logGroup };
}

/** Environment key → secret ARN, resolved together. */
function secretArns(secrets: ServerSecrets): pulumi.Output<Record<string, string>> {
  return pulumi.all(Object.fromEntries(Object.entries(secrets).map(([name, secret]) => [name, secret.arn])));
}
