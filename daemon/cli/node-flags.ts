/**
 * Flags the daemon's Node process is started with, by `npm start`, the
 * systemd unit and the benchmarks alike (a test keeps the three the same);
 * V8 reads them only at start, so the daemon cannot set them on itself.
 *
 * Under a steady request load V8 grows its young generation to three 16 MB
 * semi-spaces (about 45 MB resident for objects that live for one request),
 * and lets old space grow to about twice what is live before collecting it.
 * 2 MB semi-spaces and old space collected at 20 % above what is live keep
 * 10,000 devices' daemon near 160 MB instead of 230 to 300, at no measurable
 * throughput (bench/README.md).
 */
export const NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=20'];

/**
 * The flags a registrar worker is started with: the daemon's own, but for
 * these. They size the heap for the provisioning caches, which a worker does
 * not hold, and a small young generation costs the registrar throughput.
 */
export function workerExecArgv(daemonExecArgv: readonly string[]): string[] {
  return daemonExecArgv.filter((flag) => !NODE_FLAGS.includes(flag));
}
