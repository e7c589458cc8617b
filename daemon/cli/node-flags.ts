/**
 * Flags the daemon's Node process is started with, by `npm start`, the
 * systemd unit and the benchmarks alike (a test keeps the three the same);
 * V8 reads them only at start, so the daemon cannot set them on itself.
 *
 * V8's young generation grows to three 16 MB semi-spaces under a steady
 * request load: about 45 MB of resident memory for objects that live for one
 * request. 2 MB semi-spaces cost no measurable throughput (bench/README.md).
 */
export const NODE_FLAGS = ['--max-semi-space-size=2'];
