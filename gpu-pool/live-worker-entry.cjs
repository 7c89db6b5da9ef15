// The live converter thread's entry (live-pool.ts), plain CommonJS so that Node starts it whatever
// loads TypeScript. It loads the thread itself, live-worker.ts, as Piscina loads its workers: by
// import() where the loader's ESM hooks reach worker threads (tap's), else by require() (tsx's reach
// them only through require).
const { workerData } = require('node:worker_threads');
const { fileURLToPath } = require('node:url');

import(workerData.entry).catch((error) => {
  if (!/Unknown file extension/.test(String(error && error.message))) throw error;
  require(fileURLToPath(workerData.entry));
});
