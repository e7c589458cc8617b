// What the in-process store costs per binding: 100,000 bindings (one per
// address of record, as phones have) added to a MemoryStore, heap measured
// before and after. Usage: node --expose-gc store-cost.mjs
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { MemoryStore } = require('../../dist/daemon/sip/registrar/memory-store.js');

const N = 100_000;
const store = new MemoryStore();
const now = Date.now();
global.gc?.();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < N; i++) {
  await store.register({
    aor: `${100000 + i}@sip.test`, maxContacts: 5, nonce: `n${i}`, nc: 1, nonceTtlMs: 300_000,
    lockKeys: { source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, user: `sip.test/${i}` }, limits: { source: 1e9, user: 1e9 },
    update: {
      contacts: [{ contact: `sip:${100000 + i}@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5060`, expires: 3600 }],
      callId: `call-${i}@phone`, cseq: 1, source: { transport: 'udp', address: '10.0.0.1', port: 5060 },
      userAgent: 'Yealink SIP-T46S 66.86.0.15', path: [], owner: { kind: 'extension', tenantId: 't', extensionId: `e${i}`, deviceId: null }, now,
    },
  });
}
global.gc?.();
const after = process.memoryUsage().heapUsed;
const kept = (await store.bindings(`${100000 + N - 1}@sip.test`, now)).length;
console.log(`${N} bindings (last one ${kept ? 'present' : 'missing'}): ${Math.round((after - before) / 1048576)} MB of heap, ${Math.round((after - before) / N)} bytes per binding (with its nonce count), rss ${Math.round(process.memoryUsage().rss / 1048576)} MB`);
