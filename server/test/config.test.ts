import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, loadConfig } from '../config.ts';

t.test('defaults follow DESIGN.md §7', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8000);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.profile, 'local');
  t.equal(c.streamingEnabled, true);
  t.equal(c.chunkSeconds, 2);
  t.equal(c.outputHeight, 360);
  t.equal(c.sessionIdleSeconds, 120);
  t.ok(Object.isFrozen(c));
});

t.test('every invalid key is named in one error', async (t) => {
  const error = t.throws(() => loadConfig({ PORT: 'abc', PROFILE: 'gcp', STREAMING_ENABLED: 'maybe', OUTPUT_HEIGHT: '-1' })) as ConfigError;
  t.type(error, ConfigError);
  for (const key of ['PORT', 'PROFILE', 'STREAMING_ENABLED', 'OUTPUT_HEIGHT']) t.match(error.message, key);
});

t.test('.env.example lists every key the config reads', async (t) => {
  const source = readFileSync(new URL('../config.ts', import.meta.url), 'utf8');
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const keys = [...source.matchAll(/(?:str|int|num|bool|oneOf(?:<[^>]+>)?)\('([A-Z_]+)'/g)].map((m) => m[1]!);
  t.ok(keys.length > 20, 'found the keys');
  for (const key of new Set(keys)) t.match(example, new RegExp(`^#? ?${key}=`, 'm'), `${key} is documented`);
});
