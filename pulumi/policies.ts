/** IAM policy documents, as pure functions of ARNs (so the rules are readable and testable). */

export type PolicyDocument = {
  Version: '2012-10-17';
  Statement: Array<{
    Sid?: string;
    Effect: 'Allow' | 'Deny';
    Principal?: Record<string, string | string[]>;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }>;
};

/** What a capture client may do with its session credentials: put (and abort) chunk uploads only. */
export function uploadRolePolicy(inputBucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PutChunksOnly',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: `${inputBucketArn}/stream_input/*`,
      },
    ],
  };
}

/** Only the server's task role may assume the upload role. */
export function uploadRoleTrust(taskRoleArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: taskRoleArn }, Action: 'sts:AssumeRole' }],
  };
}

export function serviceTrust(service: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  };
}

export interface TaskPolicyArns {
  inputBucketArn: string;
  outputBucketArn: string;
  queueArn: string;
  tableArn: string;
  uploadRoleArn: string;
}

/**
 * The server's least privilege: read chunks, write and presign segments, consume the queue, use the
 * session table, and assume the upload role — nothing else (no other prefix, no other role).
 */
export function taskRolePolicy(a: TaskPolicyArns): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadChunks', Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${a.inputBucketArn}/stream_input/*` },
      {
        Sid: 'ListChunks',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: a.inputBucketArn,
        Condition: { StringLike: { 's3:prefix': ['stream_input/*'] } },
      },
      // GetObject here is what presigned segment URLs are signed with.
      { Sid: 'WriteSegments', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: `${a.outputBucketArn}/stream_output/*` },
      {
        Sid: 'ListSegments',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: a.outputBucketArn,
        Condition: { StringLike: { 's3:prefix': ['stream_output/*'] } },
      },
      {
        Sid: 'ConsumeChunkEvents',
        Effect: 'Allow',
        // SendMessage: an event for a session another node runs is given back to the queue as a copy.
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:SendMessage'],
        Resource: a.queueArn,
      },
      {
        Sid: 'Sessions',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan', 'dynamodb:Query'],
        Resource: a.tableArn,
      },
      { Sid: 'IssueUploadCredentials', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: a.uploadRoleArn },
    ],
  };
}

/** Lets only the input bucket send its notifications to the queue. */
export function queuePolicy(queueArn: string, inputBucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'InputBucketNotifications',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': inputBucketArn } },
      },
    ],
  };
}
