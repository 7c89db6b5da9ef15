/**
 * The server's secrets, each in Secrets Manager and handed to the task by ECS (never in the task
 * definition's plain environment): the HMAC key every node shares, the admin token (a server behind
 * a public load balancer refuses to start without one), and the bus URL with its auth token.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Settings } from './settings.ts';

/** Environment key → the secret ECS reads it from. */
export type ServerSecrets = Record<'SIGNING_SECRET' | 'ADMIN_TOKEN' | 'REDIS_URL', aws.secretsmanager.Secret>;

export function createSecrets(s: Settings, busUrl: pulumi.Output<string>): ServerSecrets {
  const secret = (suffix: string, description: string, value: pulumi.Input<string>) => {
    const created = new aws.secretsmanager.Secret(`${s.name}-${suffix}`, { description });
    new aws.secretsmanager.SecretVersion(`${s.name}-${suffix}`, { secretId: created.id, secretString: value });
    return created;
  };
  return {
    SIGNING_SECRET: secret('signing-secret', 'HMAC key shared by every StereoSpot Live server node', s.signingSecret),
    ADMIN_TOKEN: secret(
      'admin-token',
      'StereoSpot Live admin token (session list, dashboard socket, /metrics, ending any session)',
      s.adminToken,
    ),
    REDIS_URL: secret('bus-url', 'StereoSpot Live bus URL, with its auth token', pulumi.secret(busUrl)),
  };
}
