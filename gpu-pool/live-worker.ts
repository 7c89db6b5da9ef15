/**
 * A live converter's thread: one session's live path, its own depth-model session, frames in and access
 * units out as messages (their bytes transferred, not copied). A thread of its own rather than a Piscina
 * task: a stream's state (decoder, EMA, filter, encoder) must stay on one thread from frame to frame,
 * and the durable conversions must never wait behind a stream that never ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AV_LOG_FATAL } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { FrameScaler } from './frame-scaler.ts';
import { LiveConverter } from './live-converter.ts';
import { loadDepthModel } from './model.ts';
import type { LiveWorkerConfig, LiveWorkerInput, LiveWorkerOutput } from './live-messages.ts';

Log.setLevel(AV_LOG_FATAL);
const config = workerData as LiveWorkerConfig;
if (!parentPort) throw new Error('live-worker.ts runs as a worker thread (live-pool.ts starts it)');
const port = parentPort;
const post = (message: LiveWorkerOutput, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

// Messages are taken from the start (a thread asked to close while its network still loads closes once
// it has loaded) and handled one after another, in arrival order, however fast frames come.
const loaded = loadDepthModel({
  modelPath: config.modelPath,
  executionProvider: config.executionProvider,
  inputHeight: config.modelInputHeight,
}).then((model) => ({ model, scaler: new FrameScaler() }));
let chain: Promise<unknown> = loaded.then(
  ({ model }) => post({ type: 'ready', provider: model.provider }),
  (error: unknown) =>
    post({ type: 'error', message: `the live converter could not start: ${error instanceof Error ? error.message : String(error)}` }),
);
// Made when the thread is given its stream: a thread is started (its network loaded) before any stream
// needs it, so a viewer who joins waits for no loading.
let converter: LiveConverter | null = null;
// Set as 'close' arrives: the frames still queued before it are not converted (the thread exits after
// the one in the works — it is never terminated inside libav or the network's runtime).
let closing = false;

port.on('message', (message: LiveWorkerInput) => {
  if (message.type === 'close') closing = true;
  chain = chain
    .then(async () => {
      const resources = await loaded.catch(() => null);
      if (message.type === 'close') {
        converter?.close();
        converter = null;
        resources?.scaler.close();
        await resources?.model.close();
        port.close();
        return;
      }
      if (closing || !resources) return;
      if (message.type === 'start') {
        converter = new LiveConverter({ model: resources.model, scaler: resources.scaler, ...message.stream });
        return;
      }
      if (!converter) return;
      switch (message.type) {
        case 'frame': {
          const outcome = await converter.push(new Uint8Array(message.data), message.time, message.pace);
          for (const unit of outcome.units) {
            const bytes = unit.data.buffer as ArrayBuffer;
            post({ type: 'unit', data: bytes, time: unit.time, key: unit.key }, [bytes]);
          }
          post({
            type: 'done',
            converted: outcome.converted,
            skipped: outcome.skipped,
            timings: outcome.timings,
            size: converter.outputSize,
          });
          break;
        }
        case 'keyframe':
          converter.requestKeyframe();
          break;
        case 'settings':
          converter.setSettings(message.settings);
          break;
        case 'depth_every':
          converter.depthEvery = message.every;
          break;
      }
    })
    .catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
