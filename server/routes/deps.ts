/** What the HTTP and WebSocket handlers are given by the composition root. */
import type { Adapters } from '../adapters/ports.ts';
import type { Admission } from '../admission.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SessionService } from '../sessions/index.ts';
import type { Telemetry } from '../telemetry.ts';
import type { TokenSigner } from '../tokens.ts';

export interface RouteDeps {
  config: Config;
  adapters: Adapters;
  sessions: SessionService;
  signer: TokenSigner;
  metrics: Metrics;
  telemetry: Telemetry;
  log: Logger;
  /** A fresh control token for the session's capture client, of the session's control generation. */
  controlToken(sessionId: string, generation?: number): string;
  /** Health of the GPU pool for /healthz and /metrics. */
  poolStats(): Record<string, number>;
  /** Caps on live sessions and uploads in progress. */
  admission: Admission;
}
