/**
 * Where everything runs: the VPC and subnets (the account's default VPC unless configured), the load
 * balancer's security group (open to the web) and the instances' (reachable from the load balancer
 * only). The cache admits the instances' group and nothing else.
 */
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { Settings } from './settings.ts';

export interface Network {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  albSg: aws.ec2.SecurityGroup;
  instanceSg: aws.ec2.SecurityGroup;
}

export function createNetwork(s: Settings): Network {
  const vpcId = s.vpcId ?? aws.ec2.getVpcOutput({ default: true }).id;
  const subnetIds = s.subnetIds ?? aws.ec2.getSubnetsOutput({ filters: [{ name: 'vpc-id', values: [vpcId] }] }).ids;
  const albSg = new aws.ec2.SecurityGroup(`${s.name}-alb`, {
    vpcId,
    ingress: [
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'] },
      { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] },
    ],
    egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
  });
  const instanceSg = new aws.ec2.SecurityGroup(`${s.name}-instances`, {
    vpcId,
    // Dynamic host ports (bridge networking), reachable from the load balancer only.
    ingress: [{ protocol: 'tcp', fromPort: 32768, toPort: 65535, securityGroups: [albSg.id] }],
    egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'] }],
  });
  return { vpcId, subnetIds, albSg, instanceSg };
}
