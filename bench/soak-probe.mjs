/**
 * Preloaded (`--import`) into the host process by the soak bench only: appends the host's
 * process.memoryUsage() to SOAK_PROBE_FILE every SOAK_PROBE_MS (default 10 s) as JSON lines,
 * and on SIGUSR2 writes a V8 heap snapshot into SOAK_SNAPSHOT_DIR (when set). The host knows
 * nothing of it; it only adds what a memory investigation needs to see from outside.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.SOAK_PROBE_FILE;
const dir = process.env.SOAK_SNAPSHOT_DIR;
const every = Number(process.env.SOAK_PROBE_MS ?? 10_000);

if (file) {
  const sample = (extra = {}) =>
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), ...process.memoryUsage(), ...extra })}\n`);
  sample();
  setInterval(sample, every).unref();
  process.on('SIGUSR2', () => {
    // A heap snapshot runs a full GC first, so the sample after it is the retained heap.
    const snapshot = dir ? writeHeapSnapshot(join(dir, `host-${Date.now()}.heapsnapshot`)) : undefined;
    sample({ snapshot: snapshot ?? null, afterGc: Boolean(snapshot) });
  });
}
