import crypto from 'node:crypto';
import dgram from 'node:dgram';
import type { Knex } from 'knex';
import sip from 'sip';
import type { ChangeFeed } from '../core/changes';
import type { Logger } from '../core/log';
import type { SecretBox } from '../crypto/secret-box';
import { redeemCode } from '../activation/codes';
import { CODE_LENGTH } from '../activation/code';
import { DigitCollector, keyPressFromInfo, keyPressFromRtp } from '../activation/dtmf';
import { type EntryState, initialEntry, onDigits, onRedemption } from '../activation/entry';
import { answerFor, readOffer } from '../activation/sdp';
import { activateDevice, recordDeviceEvent, resyncEvent } from '../provisioning';
import { deviceById } from '../provisioning/store/devices';
import type { IncomingRequest, UasDialog } from '../sip/engine';
import type { SipService } from '../sip/service';

// A call that keys nothing useful is ended rather than held open.
const CALL_LIMIT_MS = 120_000;

interface Call {
  dialog: UasDialog;
  deviceId: string;
  aor: string;
  rtp: dgram.Socket;
  digits: DigitCollector;
  state: EntryState;
  timer: NodeJS.Timeout;
  busy: boolean;
}

export interface RegistrationServiceDeps {
  knex: Knex;
  secrets: SecretBox;
  changes: ChangeFeed;
  sip: SipService;
  log: Logger;
  activationDomain: string;
  serviceNumber: string;
  /** Address to receive RTP on, and to advertise in the SDP answer. */
  mediaHost: string;
  advertisedHost: string;
}

/**
 * The number a pending phone dials to key in its activation code. The call
 * is accepted only from the address, port and transport the phone registered
 * from with its activation credentials, so the caller is that pending phone; keypresses
 * arrive as RFC 4733 events or SIP INFO. A right code binds the phone to the
 * code's extension, ends the call, and reboots the phone into its full
 * configuration; three wrong codes end the call.
 */
export function registrationService(d: RegistrationServiceDeps) {
  const calls = new Map<string, Call>();

  async function callerDevice(req: IncomingRequest): Promise<{ deviceId: string; aor: string } | null> {
    const from = sip.parseUri(req.message.headers.from?.uri ?? '');
    if (!from?.user || from.host.toLowerCase() !== d.activationDomain.toLowerCase() || from.user.length > 64) return null;
    const aor = `${from.user}@${d.activationDomain.toLowerCase()}`;
    // The same socket the phone registered from: a phone sends its calls from its SIP port.
    const binding = (await d.sip.registrar.bindings(aor)).find((b) =>
      b.source.address === req.source.address && b.source.port === req.source.port && b.source.transport === req.source.transport && b.owner.deviceId);
    return binding ? { deviceId: binding.owner.deviceId!, aor } : null;
  }

  function end(call: Call, sendBye: boolean): void {
    calls.delete(call.dialog.callId);
    clearTimeout(call.timer);
    call.rtp.close();
    if (sendBye) d.sip.engine.endDialog(call.dialog);
  }

  async function finishActivation(call: Call, extensionId: string): Promise<void> {
    await activateDevice({ knex: d.knex, changes: d.changes, secrets: d.secrets }, call.deviceId, extensionId, `device:${call.deviceId}`);
    await recordDeviceEvent(d.knex, call.deviceId, { kind: 'assigned', transport: 'sip', result: 'activated', detail: 'activation code keyed in from the phone' });
    const device = await deviceById(d.knex, call.deviceId);
    const event = resyncEvent(device?.model ?? device?.vendor ?? '', { reboot: true }) ?? 'check-sync;reboot=true';
    // The phone is still registered with its activation identity: reboot it there, and it comes back with its extension.
    const results = await d.sip.resync(call.aor, event);
    await recordDeviceEvent(d.knex, call.deviceId, { kind: 'resync', transport: 'sip', result: results.some((r) => r.status !== null && r.status < 300) ? 'sent' : 'failed', detail: event });
  }

  async function onEntry(call: Call, digits: string): Promise<void> {
    const action = onDigits(call.state, digits);
    if (action.do !== 'redeem' || call.busy) return;
    call.busy = true;
    const result = await redeemCode(d.knex, action.code, call.deviceId);
    const [state, next] = onRedemption(call.state, result);
    call.state = state;
    call.busy = false;
    if (!result.ok) await recordDeviceEvent(d.knex, call.deviceId, { kind: 'assigned', transport: 'sip', result: 'refused', detail: `activation code ${result.reason}` });
    if (next.do === 'hangup') {
      end(call, true);
      if (next.outcome === 'activated') await finishActivation(call, next.extensionId!);
    }
  }

  function keyPressed(call: Call, digits: string | null): void {
    if (digits === null) return;
    onEntry(call, digits).catch((err: unknown) => d.log.error({ err, deviceId: call.deviceId }, 'activation failed'));
  }

  async function invite(req: IncomingRequest): Promise<void> {
    const target = sip.parseUri(req.message.uri ?? '');
    if (!target || target.user !== d.serviceNumber) {
      req.reply(404, 'Not Found');
      return;
    }
    if (calls.has(req.message.headers['call-id'] ?? '')) return;
    const caller = await callerDevice(req);
    if (!caller) {
      req.reply(403, 'Forbidden', { headers: { warning: '399 dialtone "only a pending phone, from where it registered, reaches the registration service"' } });
      return;
    }
    const offer = readOffer(req.message.content ?? '');
    if (!offer) {
      req.reply(488, 'Not Acceptable Here');
      return;
    }
    const rtp = dgram.createSocket(d.mediaHost.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => rtp.bind(0, d.mediaHost, () => resolve()));
    const sdp = answerFor(offer, { address: d.advertisedHost, port: rtp.address().port, sessionId: crypto.randomInt(1, 2 ** 31) });
    const dialog = d.sip.engine.createUasDialog(req, 200, 'OK', { headers: { 'content-type': 'application/sdp' }, content: sdp });
    const call: Call = {
      dialog, deviceId: caller.deviceId, aor: caller.aor, rtp,
      digits: new DigitCollector(CODE_LENGTH), state: initialEntry(), busy: false,
      timer: setTimeout(() => end(call, true), CALL_LIMIT_MS),
    };
    calls.set(dialog.callId, call);
    const te = offer.telephoneEventPt ?? 101;
    rtp.on('message', (packet, from) => {
      // Media from anywhere but the phone's own address is ignored.
      if (from.address !== req.source.address) return;
      const press = keyPressFromRtp(packet, te);
      if (press) keyPressed(call, call.digits.push(press));
    });
    rtp.on('error', () => end(call, true));
  }

  function inDialog(req: IncomingRequest): void {
    const call = calls.get(req.message.headers['call-id'] ?? '');
    if (!call) {
      req.reply(481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (req.message.method === 'BYE') {
      req.reply(200, 'OK');
      end(call, false);
      return;
    }
    req.reply(200, 'OK');
    const seq = req.message.headers.cseq?.seq ?? 0;
    const press = keyPressFromInfo(String(req.message.headers['content-type'] ?? ''), req.message.content ?? '', seq);
    if (press) keyPressed(call, call.digits.push(press));
  }

  return {
    /** Calls to the service number, and every request inside a call of ours. */
    owns(req: IncomingRequest): boolean {
      const m = req.message;
      if (calls.has(m.headers['call-id'] ?? '')) return true;
      return m.method === 'INVITE' && !m.headers.to?.params.tag && sip.parseUri(m.uri ?? '')?.user === d.serviceNumber;
    },
    handle(req: IncomingRequest): void {
      const method = req.message.method;
      if (method === 'INVITE') {
        invite(req).catch((err: unknown) => {
          d.log.error({ err }, 'registration service INVITE failed');
          req.reply(500, 'Server Internal Error');
        });
      } else if (method === 'CANCEL') {
        req.reply(481, 'Call/Transaction Does Not Exist');
      } else if (method !== 'ACK') {
        inDialog(req);
      }
    },
    stop(): void {
      for (const call of [...calls.values()]) end(call, true);
    },
  };
}
