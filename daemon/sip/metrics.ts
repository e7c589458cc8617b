import type { Runtime } from '../core/component';
import type { SipService } from './service';

/**
 * The registrar's figures for GET /metrics, read from the plain numbers it
 * keeps (a REGISTER builds no label object), and the SIP engine's check for
 * /readyz. REGISTERs that registrar workers answer are counted in their own
 * processes, not here.
 */
export function sipMetrics(rt: Runtime, sip: SipService): void {
  const { metrics } = rt;
  const counts = sip.registrar.counts;
  metrics.counterFrom('dialtone_sip_registers_total', 'REGISTER requests answered, by final status code (401 is the digest challenge).', ['status'], () =>
    [...counts.answered].map(([status, n]) => [[String(status)], n] as const));
  metrics.counterFrom('dialtone_sip_auth_failures_total', 'REGISTERs whose digest credentials were wrong or named no known user.', [], () => [[[], counts.authFailures]]);
  metrics.counterFrom('dialtone_sip_lockouts_total', 'REGISTERs refused because the user or the source address failed too often (DIALTONE_SIP_LOCKOUT_*).', [], () => [[[], counts.lockouts]]);
  const bindings = metrics.counter('dialtone_sip_binding_changes_total', 'Registrations added, removed by the phone or replaced, and expired.', ['change']);
  const registered = bindings.cell('registered');
  const unregistered = bindings.cell('unregistered');
  const expired = bindings.cell('expired');
  sip.registrar.events.on('registered', () => registered.inc());
  sip.registrar.events.on('unregistered', () => unregistered.inc());
  sip.registrar.events.on('expired', () => expired.inc());
  rt.health.add('sip', async () => {
    if (Object.keys(sip.engine.addresses()).length === 0) throw new Error(`the ${sip.engine.name} engine is not listening`);
  });
}
