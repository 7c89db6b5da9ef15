import t from 'tap';
import { parseClientMessage, parseCreateRequest, parseEndRequest } from '../validate.ts';

t.test('client messages are taken whole or refused with the code naming the field', async (t) => {
  const table: Array<[unknown, string]> = [
    [null, 'bad_message'],
    [[1, 2], 'bad_message'],
    ['ping', 'bad_message'],
    [{}, 'unknown_message'],
    [{ type: 'end_everything' }, 'unknown_message'],
    [{ type: 'ping', t: 'soon' }, 'invalid_t'],
    [{ type: 'chunk_uploaded', index: -1, key: 'k', bytes: 1 }, 'invalid_index'],
    [{ type: 'chunk_uploaded', index: 100_000, key: 'k', bytes: 1 }, 'invalid_index'],
    [{ type: 'chunk_uploaded', index: 1.5, key: 'k', bytes: 1 }, 'invalid_index'],
    [{ type: 'chunk_uploaded', index: 1, key: 7, bytes: 1 }, 'invalid_key'],
    [{ type: 'chunk_uploaded', index: 1, key: 'k'.repeat(201), bytes: 1 }, 'invalid_key'],
    [{ type: 'chunk_uploaded', index: 1, key: 'k', bytes: -1 }, 'invalid_bytes'],
    [{ type: 'chunk_uploaded', index: 1, key: 'k' }, 'invalid_bytes'],
    [{ type: 'set_settings', stereo_strength: 1000 }, 'invalid_stereo_strength'],
    [{ type: 'set_settings', stereo_strength: 'lots' }, 'invalid_stereo_strength'],
    [{ type: 'set_settings', convergence: -0.1 }, 'invalid_convergence'],
  ];
  for (const [value, code] of table) {
    const check = parseClientMessage(value);
    t.match(check, { ok: false, code }, `${JSON.stringify(value)?.slice(0, 60)} → ${code}`);
  }
});

t.test('valid messages come back with their fields only', async (t) => {
  t.same(parseClientMessage({ type: 'ping' }), { ok: true, message: { type: 'ping' } });
  t.same(parseClientMessage({ type: 'ping', t: 12.5, extra: 'x' }), { ok: true, message: { type: 'ping', t: 12.5 } });
  t.same(parseClientMessage({ type: 'chunk_uploaded', index: 3, key: 'stream_input/s/chunk_00003.mp4', bytes: 10, more: 1 }), {
    ok: true,
    message: { type: 'chunk_uploaded', index: 3, key: 'stream_input/s/chunk_00003.mp4', bytes: 10 },
  });
  t.same(parseClientMessage({ type: 'set_settings', convergence: 0.5, admin: true }), {
    ok: true,
    message: { type: 'set_settings', convergence: 0.5 },
  });
});

t.test('request bodies: create and end', async (t) => {
  t.same(parseCreateRequest({}), { ok: true, request: { mode: 'sbs' } }, 'everything optional');
  t.same(parseCreateRequest({ mode: 'anaglyph', stereo_strength: 0.05, convergence: 0.5, extra: 1 }), {
    ok: true,
    request: { mode: 'anaglyph', stereo_strength: 0.05, convergence: 0.5 },
  });
  t.match(parseCreateRequest({ mode: 'holo' }), { ok: false, code: 'invalid_mode', field: 'mode' });
  t.match(parseCreateRequest({ mode: 3 }), { ok: false, code: 'invalid_mode' });
  t.match(parseCreateRequest({ stereo_strength: 1000 }), { ok: false, code: 'invalid_stereo_strength', field: 'stereo_strength' });
  t.same(parseEndRequest({}), { ok: true, request: {} });
  t.same(parseEndRequest({ chunks: 12 }), { ok: true, request: { chunks: 12 } });
  for (const chunks of [-1, 1.5, '3', 100_001, null])
    t.match(parseEndRequest({ chunks }), { ok: false, code: 'invalid_chunks', field: 'chunks' }, `chunks ${JSON.stringify(chunks)}`);
});
