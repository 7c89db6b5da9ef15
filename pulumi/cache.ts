/**
 * The cross-node bus: a Valkey (Redis-compatible) replication group in the VPC, two nodes with
 * automatic failover, encrypted in transit and at rest, reachable on 6379 from the server instances
 * only, behind an AUTH token. The servers get it as `REDIS_URL` (rediss://:token@…, TLS), a secret.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Network } from './network.ts';
import type { Settings } from './settings.ts';

export interface Cache {
  group: aws.elasticache.ReplicationGroup;
  securityGroup: aws.ec2.SecurityGroup;
  /** `rediss://:{auth token}@{primary endpoint}:6379` (a secret output). */
  url: pulumi.Output<string>;
}

const PORT = 6379;

export function createCache(s: Settings, network: Network): Cache {
  const securityGroup = new aws.ec2.SecurityGroup(`${s.name}-cache`, {
    vpcId: network.vpcId,
    ingress: [{ protocol: 'tcp', fromPort: PORT, toPort: PORT, securityGroups: [network.instanceSg.id] }],
    egress: [],
  });
  const subnets = new aws.elasticache.SubnetGroup(`${s.name}-cache`, { subnetIds: network.subnetIds });
  const group = new aws.elasticache.ReplicationGroup(`${s.name}-bus`, {
    description: 'StereoSpot Live: the cross-node bus',
    engine: 'valkey',
    engineVersion: '8.0',
    nodeType: s.cacheNodeType,
    numCacheClusters: 2,
    automaticFailoverEnabled: true,
    multiAzEnabled: true,
    port: PORT,
    subnetGroupName: subnets.name,
    securityGroupIds: [securityGroup.id],
    transitEncryptionEnabled: true,
    atRestEncryptionEnabled: true,
    authToken: s.cacheAuthToken,
  });
  const url = pulumi.secret(
    pulumi.interpolate`rediss://:${s.cacheAuthToken.apply(encodeURIComponent)}@${group.primaryEndpointAddress}:${PORT}`,
  );
  return { group, securityGroup, url };
}
