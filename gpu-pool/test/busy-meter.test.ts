import t from 'tap';
import { BusyMeter } from '../busy-meter.ts';

t.test('utilization is the busy share of worker time over the latest window', async (t) => {
  let now = 0;
  const meter = new BusyMeter(2, 1000, () => now);
  t.equal(meter.utilization, 0, 'nothing yet');
  meter.start(); // one of two workers busy for the whole window
  now = 1000;
  t.equal(meter.utilization, 0.5);
  meter.start(); // both busy
  now = 2000;
  t.equal(meter.utilization, 1);
  meter.start(); // a third task queued: still at most all workers
  now = 3000;
  t.equal(meter.utilization, 1, 'capped at 1 when tasks queue');
  meter.end();
  meter.end();
  meter.end();
  now = 3500;
  t.equal(meter.utilization, 1, 'a window shorter than 1 s keeps the last figure');
  now = 4000;
  t.equal(meter.utilization, 0, 'idle for the whole window');
});
