/**
 * What a registrar worker does with a datagram it read off the shared socket,
 * judged from its first bytes only: REGISTER and OPTIONS it answers itself;
 * other requests and responses go to the daemon; anything that cannot be SIP
 * is dropped here rather than copied across to the daemon, so junk floods
 * cost the daemon nothing.
 */
export type Triage = 'answer' | 'hand-over' | 'drop';

const ANSWERED = /^(?:REGISTER|OPTIONS) /;
const SIP_START = /^(?:[A-Z]{2,16} |SIP\/2\.0 )/;

export function triage(datagram: Buffer): Triage {
  const head = datagram.toString('latin1', 0, 17);
  if (ANSWERED.test(head)) return 'answer';
  return SIP_START.test(head) ? 'hand-over' : 'drop';
}
