/** Where the network runs: the order providers are tried in, fallbacks, and explicit requests that cannot be met. */
import t from 'tap';
import { loadDepthModel } from '../model.ts';
import { createPlaced, deviceFor, detectHost, providerPlan, sessionOptions, type Placement } from '../providers.ts';

t.test('the plan: TensorRT, then CUDA, then CPU where each can be; explicit requests alone', async (t) => {
  const none = { nvidia: false, tensorrt: false };
  const gpu = { nvidia: true, tensorrt: false };
  const trt = { nvidia: true, tensorrt: true };
  t.same(providerPlan('auto', none), ['cpu'], 'no GPU: CPU');
  t.same(providerPlan('auto', gpu), ['cuda', 'cpu'], 'a GPU: CUDA, else CPU');
  t.same(providerPlan('auto', trt), ['tensorrt', 'cuda', 'cpu'], 'and TensorRT first where it is installed');
  for (const host of [none, gpu, trt]) {
    t.same(providerPlan('cpu', host), ['cpu']);
    t.same(providerPlan('cuda', host), ['cuda'], 'an explicit CUDA has no fallback');
    t.same(providerPlan('tensorrt', host), ['tensorrt']);
  }
});

t.test('session options: one thread on the CPU; GPU providers on their device, with per-operator fallbacks', async (t) => {
  t.same(sessionOptions('cpu', 0).executionProviders, ['cpu']);
  t.equal(sessionOptions('cpu', 0).intraOpNumThreads, 1);
  t.same(sessionOptions('cuda', 1).executionProviders, [{ name: 'cuda', deviceId: 1 }, 'cpu']);
  t.same(sessionOptions('tensorrt', 2).executionProviders, [{ name: 'tensorrt', deviceId: 2 }, { name: 'cuda', deviceId: 2 }, 'cpu']);
  t.same(
    [0, 1, 2, 3].map((i) => deviceFor(i, 2)),
    [0, 1, 0, 1],
    'workers take the GPUs in turn',
  );
  t.equal(deviceFor(3, 0), 0);
});

t.test('a provider that fails to load falls back to the next, and says why', async (t) => {
  const tried: string[] = [];
  const create = async (options: { executionProviders?: readonly unknown[] }) => {
    const first = options.executionProviders![0]!;
    const name = (typeof first === 'string' ? first : (first as { name: string }).name) as Placement;
    tried.push(name);
    if (name !== 'cpu') throw new Error(`lib${name}.so: cannot open shared object file\nmore detail`);
    return `session on ${name}`;
  };
  const placed = await createPlaced(['tensorrt', 'cuda', 'cpu'], 0, create);
  t.same(tried, ['tensorrt', 'cuda', 'cpu']);
  t.equal(placed.session, 'session on cpu');
  t.equal(placed.provider, 'cpu');
  t.same(
    placed.fallbacks,
    [
      { provider: 'tensorrt', reason: 'libtensorrt.so: cannot open shared object file' },
      { provider: 'cuda', reason: 'libcuda.so: cannot open shared object file' },
    ],
    'each fallback with the first line of its reason',
  );
  await t.rejects(
    createPlaced(['cuda'], 0, create),
    /CUDA execution provider unavailable: libcuda\.so: cannot open shared object file$/,
    'asked for CUDA alone: an error naming it',
  );
  await t.rejects(createPlaced(['tensorrt'], 0, create), /TensorRT execution provider unavailable/);
  const failing = async () => {
    throw new Error('broken');
  };
  await t.rejects(createPlaced(['cuda', 'cpu'], 0, failing), /no execution provider could load the model: cuda: broken; cpu: broken/);
});

t.test('on this machine (no GPU): auto runs on the CPU, an explicit CUDA request is refused clearly', async (t) => {
  const host = detectHost();
  t.comment(`host: ${JSON.stringify(host)}`);
  const model = await loadDepthModel({ modelPath: null, executionProvider: 'auto', inputHeight: 126 });
  t.teardown(() => model.close());
  t.equal(model.provider, host.nvidia ? model.provider : 'cpu', 'auto: the CPU without a GPU');
  if (!host.nvidia) {
    t.same(model.fallbacks, [], 'nothing tried first: no GPU to try');
    await t.rejects(
      loadDepthModel({ modelPath: null, executionProvider: 'cuda', inputHeight: 126 }),
      /CUDA execution provider unavailable/,
    );
  }
});
