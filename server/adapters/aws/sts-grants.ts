/**
 * Upload credentials in the AWS profile: STS AssumeRole on STREAM_UPLOAD_ROLE_ARN when set, else
 * GetFederationToken, always with an inline policy that allows only PutObject and
 * AbortMultipartUpload on `arn:aws:s3:::{input bucket}/stream_input/{session_id}/*`.
 */
import { AssumeRoleCommand, GetFederationTokenCommand, type Credentials, type STSClient } from '@aws-sdk/client-sts';
import { INPUT_PREFIX } from '../../../protocol/keys.ts';
import type { S3UploadTarget } from '../../../protocol/messages.ts';
import type { UploadGrants } from '../ports.ts';

/** The session-scoped upload policy (exported for tests and for the infrastructure's own checks). */
export function uploadPolicy(inputBucket: string, sessionId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: `arn:aws:s3:::${inputBucket}/${INPUT_PREFIX}${sessionId}/*`,
      },
    ],
  });
}

export interface StsGrantsOptions {
  inputBucket: string;
  region: string;
  roleArn: string | null;
  durationSeconds: number;
  /** Given to clients when S3 is not the AWS default (emulators, S3-compatible stores). */
  endpoint: string | null;
  forcePathStyle: boolean;
}

export class StsUploadGrants implements UploadGrants {
  private readonly sts: STSClient;
  private readonly opts: StsGrantsOptions;

  constructor(sts: STSClient, opts: StsGrantsOptions) {
    this.sts = sts;
    this.opts = opts;
  }

  async issue(sessionId: string): Promise<S3UploadTarget> {
    const policy = uploadPolicy(this.opts.inputBucket, sessionId);
    let credentials: Credentials | undefined;
    if (this.opts.roleArn) {
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: this.opts.roleArn,
          RoleSessionName: `stream-${sessionId}`.slice(0, 64),
          Policy: policy,
          DurationSeconds: this.opts.durationSeconds,
        }),
      );
      credentials = out.Credentials;
    } else {
      const out = await this.sts.send(
        new GetFederationTokenCommand({
          // Federated user names are at most 32 characters.
          Name: `stream-${sessionId.replace(/-/g, '')}`.slice(0, 32),
          Policy: policy,
          DurationSeconds: this.opts.durationSeconds,
        }),
      );
      credentials = out.Credentials;
    }
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !credentials.Expiration) {
      throw new Error('STS returned incomplete credentials');
    }
    const target: S3UploadTarget = {
      type: 's3',
      access_key_id: credentials.AccessKeyId,
      secret_access_key: credentials.SecretAccessKey,
      session_token: credentials.SessionToken,
      bucket: this.opts.inputBucket,
      region: this.opts.region,
      expires_at: new Date(credentials.Expiration).toISOString(),
      key_prefix: `${INPUT_PREFIX}${sessionId}/`,
    };
    if (this.opts.endpoint) target.endpoint = this.opts.endpoint;
    if (this.opts.forcePathStyle) target.force_path_style = true;
    return target;
  }
}
