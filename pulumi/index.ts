/** `pulumi up`: the StereoSpot Live AWS stack. Outputs are the server's environment keys. */
import { loadSettings } from './settings.ts';
import { createStack } from './stack.ts';

const outputs = createStack(loadSettings());

export const AWS_REGION = outputs.AWS_REGION;
export const INPUT_BUCKET_NAME = outputs.INPUT_BUCKET_NAME;
export const OUTPUT_BUCKET_NAME = outputs.OUTPUT_BUCKET_NAME;
export const STREAM_SESSIONS_TABLE_NAME = outputs.STREAM_SESSIONS_TABLE_NAME;
export const VIDEO_WORKER_QUEUE_URL = outputs.VIDEO_WORKER_QUEUE_URL;
export const STREAM_UPLOAD_ROLE_ARN = outputs.STREAM_UPLOAD_ROLE_ARN;
export const PUBLIC_BASE_URL = outputs.PUBLIC_BASE_URL;
