import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, loadConfig, loggingFromEnvironment } from '../config.ts';

t.test('defaults follow DESIGN.md §7, except that an open server binds loopback only', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8000);
  t.equal(c.host, '127.0.0.1', 'without ADMIN_TOKEN nobody else can reach it');
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

t.test('the log settings are read with the rest of the config; a bad one is named', async (t) => {
  t.same(loggingFromEnvironment({}), { level: 'info', json: false });
  t.same(loggingFromEnvironment({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }), { level: 'warn', json: true });
  t.same(loggingFromEnvironment({ LOG_LEVEL: 'loud' }), { level: 'info', json: false }, 'a bad level logs at info…');
  t.match(
    (t.throws(() => loadConfig({ LOG_LEVEL: 'loud' })) as Error).message,
    /LOG_LEVEL must be one of debug, info, warn, error, silent/,
    '…and stops the server, named',
  );
  t.match((t.throws(() => loadConfig({ LOG_FORMAT: 'xml' })) as Error).message, /LOG_FORMAT must be one of text, json/);
});

t.test('DEPTH_FPS: every frame by default, a rate, or auto; anything else named', async (t) => {
  t.equal(loadConfig({}).depthFps, 0);
  t.equal(loadConfig({ DEPTH_FPS: '7.5' }).depthFps, 7.5);
  t.equal(loadConfig({ DEPTH_FPS: 'AUTO' }).depthFps, 'auto');
  for (const bad of ['fast', '-1', '241']) {
    t.match(
      (t.throws(() => loadConfig({ DEPTH_FPS: bad })) as Error).message,
      `DEPTH_FPS must be "auto" or a number from 0 to 240 (got "${bad}")`,
    );
  }
});

t.test('a server reachable beyond loopback needs an admin token of 16+ characters', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
    const error = t.throws(() => loadConfig({ HOST: host })) as ConfigError;
    t.type(error, ConfigError);
    t.match(error.message, /HOST=.*ADMIN_TOKEN/, `HOST=${host} without ADMIN_TOKEN is refused, naming the fix`);
  }
  t.match((t.throws(() => loadConfig({ HOST: '0.0.0.0', ADMIN_TOKEN: 'short' })) as Error).message, /ADMIN_TOKEN must be at least 16/);
  t.equal(loadConfig({ HOST: '0.0.0.0', ADMIN_TOKEN: 'a-long-enough-admin-token' }).host, '0.0.0.0');
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) t.equal(loadConfig({ HOST: host }).host, host, `${host} is loopback`);
});

t.test('.env.example lists every key the config reads', async (t) => {
  const source = readFileSync(new URL('../config.ts', import.meta.url), 'utf8');
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const keys = [...source.matchAll(/(?:str|int|num|bool|oneOf(?:<[^>]+>)?)\('([A-Z_]+)'/g)].map((m) => m[1]!);
  t.ok(keys.length > 20, 'found the keys');
  for (const key of new Set(keys)) t.match(example, new RegExp(`^#? ?${key}=`, 'm'), `${key} is documented`);
});
