import crypto from 'node:crypto';
import type { Knex } from 'knex';
import sip from 'sip';
import type { ChangeFeed } from '../core/changes';
import type { Logger } from '../core/log';
import type { SecretBox } from '../crypto/secret-box';
import { redeemCode } from '../activation/codes';
import { CODE_LENGTH } from '../activation/code';
import { DigitCollector, type KeyPress, keyPressFromEvent, keyPressFromInfo } from '../activation/dtmf';
import { type EntryState, type PromptName, type Step, initialEntry, onDigits, onFailure, onRedemption, opening } from '../activation/entry';
import { WrongCodes } from '../activation/wrong-codes';
import type { Pacer } from '../media/pacer';
import type { PortPool } from '../media/ports';
import type { Prompt } from '../media/prompts';
import { type AudioChoice, type SessionDescription, answerSdp, chooseAudio, offerSdp, parseSdp } from '../media/sdp';
import { MediaSession } from '../media/session';
import { activateDevice, recordDeviceEvent, resyncEvent } from '../provisioning';
import { deviceById } from '../provisioning/store/devices';
import type { IncomingRequest, ReplyOptions, UasDialog } from '../sip/engine';
import type { SipService } from '../sip/service';

// A call that keys nothing useful is ended rather than held open.
const CALL_LIMIT_MS = 120_000;
// No ACK within 64*T1 (RFC 3261 §13.3.1.4): the caller is gone, and so is the call.
const ACK_WAIT_MS = 32_000;
const ALLOW = 'INVITE, ACK, BYE, CANCEL, INFO, OPTIONS';
// A request for a call that just ended still gets 481 from us, not the registrar (Timer J's span, RFC 3261 §17.2.2).
const ENDED_KEPT_MS = 32_000;
const ENDED_KEPT_MAX = 10_000;

interface Call {
  dialog: UasDialog;
  deviceId: string;
  aor: string;
  source: string;
  media: MediaSession;
  sessionId: number;
  sdpVersion: number;
  /** We sent an offer (INVITE or re-INVITE without SDP): the answer comes in the ACK. */
  awaitingAnswer: boolean;
  acked: boolean;
  digits: DigitCollector;
  state: EntryState;
  step: Step | null;
  tones: number;
  /** A key press came as an event or an INFO: tones in the audio are then the same presses again, not new ones. */
  signalled: boolean;
  timer: NodeJS.Timeout;
  busy: boolean;
  /** The phone was bound during the call: it is rebooted when the call ends, however it ends. */
  reboot: boolean;
  ended: boolean;
}

export interface MediaDeps {
  pool: PortPool;
  pacer: Pacer;
  prompts: Record<PromptName, Prompt>;
  /** The address in our SDP. */
  host: string;
}

export interface RegistrationServiceDeps {
  knex: Knex;
  secrets: SecretBox;
  changes: ChangeFeed;
  sip: SipService;
  log: Logger;
  activationDomain: string;
  serviceNumber: string;
  media: MediaDeps;
  /** Told each code keyed in, by result, for the metrics. */
  onActivation?: (result: 'activated' | 'mistyped' | 'unknown' | 'expired') => void;
}

const warning = (text: string): Record<string, unknown> => ({ warning: `399 dialtone "${text.replace(/["\\]/g, '')}"` });

/**
 * The number a pending phone dials to key in its activation code. The call
 * is challenged, and taken only with the activation credentials of a pending
 * phone that is registered with them, so the caller is that pending phone.
 * It hears the prompts, keys its code (RFC 4733, SIP INFO or in-band tones),
 * and on the right code is bound to the code's extension and rebooted into
 * its full configuration; three wrong codes end the call.
 */
export function registrationService(d: RegistrationServiceDeps) {
  const calls = new Map<string, Call>();
  /** Call-IDs of calls that ended lately, oldest first, with when they are forgotten. */
  const ended = new Map<string, number>();
  const wrongCodes = new WrongCodes();
  const { prompts } = d.media;

  /**
   * The pending phone calling, proven by its activation credentials (407 and
   * Proxy-Authorization, with the registrar's nonces, replay rule and
   * lockout), and registered, since the reboot after activation goes to its
   * registration. Null once the request has been answered.
   */
  async function callerDevice(req: IncomingRequest): Promise<{ deviceId: string; aor: string } | null> {
    const identity = await d.sip.registrar.authenticate(req, d.activationDomain);
    if (!identity) return null;
    if (identity.kind !== 'activation' || !identity.deviceId) {
      req.reply(403, 'Forbidden', { headers: warning('only a pending phone, with its activation credentials, reaches the registration service') });
      return null;
    }
    if ((await d.sip.registrar.bindings(identity.aor)).length === 0) {
      req.reply(403, 'Forbidden', { headers: warning('register with the activation credentials first: the phone is restarted through its registration') });
      return null;
    }
    return { deviceId: identity.deviceId, aor: identity.aor };
  }

  function timeline(call: Call, kind: 'call' | 'assigned', result: string, detail: string): void {
    recordDeviceEvent(d.knex, call.deviceId, { kind, transport: 'sip', result, detail })
      .catch((err: unknown) => d.log.warn({ err, deviceId: call.deviceId }, 'device timeline entry lost'));
  }

  function end(call: Call, how: 'bye' | 'caller' | 'stop'): void {
    if (call.ended) return;
    call.ended = true;
    calls.delete(call.dialog.callId);
    const now = Date.now();
    for (const [id, until] of ended) {
      if (until > now && ended.size < ENDED_KEPT_MAX) break;
      ended.delete(id);
    }
    ended.set(call.dialog.callId, now + ENDED_KEPT_MS);
    clearTimeout(call.timer);
    call.media.close();
    if (how !== 'caller') d.sip.engine.endDialog(call.dialog);
    else if (!call.state.done) timeline(call, 'call', 'hung-up', 'the caller hung up');
    if (call.reboot) reboot(call).catch((err: unknown) => d.log.error({ err, deviceId: call.deviceId }, 'reboot after activation failed'));
  }

  async function reboot(call: Call): Promise<void> {
    const device = await deviceById(d.knex, call.deviceId);
    const event = resyncEvent(device?.model ?? device?.vendor ?? '', { reboot: true }) ?? 'check-sync;reboot=true';
    // The phone is still registered with its activation identity: reboot it there, and it comes back with its extension.
    const results = await d.sip.resync(call.aor, event);
    await recordDeviceEvent(d.knex, call.deviceId, { kind: 'resync', transport: 'sip', result: results.some((r) => r.status !== null && r.status < 300) ? 'sent' : 'failed', detail: event });
  }

  const STEP_DETAIL: Record<Step['outcome'], string> = {
    answered: 'the registration service answered and asked for the code',
    activated: 'activation code keyed in from the phone',
    refused: 'activation code',
    goodbye: 'too many wrong codes: goodbye',
    'locked-out': 'too many wrong codes from this phone or its address lately: goodbye',
    'system-busy': 'the registration service failed: the caller was told to try later',
  };

  function run(call: Call, [state, step]: [EntryState, Step]): void {
    call.state = state;
    call.step = step;
    const detail = step.reason ? `${STEP_DETAIL[step.outcome]} ${step.reason}` : STEP_DETAIL[step.outcome];
    if (step.outcome !== 'activated') timeline(call, 'call', step.outcome, detail);
    if (step.then === 'hangup' && step.outcome === 'refused') timeline(call, 'call', 'goodbye', STEP_DETAIL.goodbye);
    call.media.play(step.play.map((name) => prompts[name]));
  }

  function played(call: Call): void {
    if (call.step?.then === 'hangup') end(call, 'bye');
  }

  async function redeem(call: Call, code: string): Promise<void> {
    call.busy = true;
    try {
      const result = await redeemCode(d.knex, code, call.deviceId);
      d.onActivation?.(result.ok ? 'activated' : result.reason);
      if (call.ended && !result.ok) return;
      // A mistyped code fails its check digit: it says nothing about the code space, so it is no guess against the limits.
      if (!result.ok && result.reason !== 'mistyped') wrongCodes.failed(call.deviceId, call.source, Date.now());
      let next = onRedemption(call.state, code, result);
      if (!result.ok && next[1].then === 'listen' && wrongCodes.blocked(call.deviceId, call.source, Date.now())) {
        next = [{ ...next[0], done: true }, { ...next[1], play: [next[1].play[0]!, 'goodbye'], then: 'hangup' }];
      }
      if (result.ok) {
        wrongCodes.succeeded(call.deviceId);
        await activateDevice({ knex: d.knex, changes: d.changes, secrets: d.secrets }, call.deviceId, result.extensionId, `device:${call.deviceId}`);
        call.reboot = true;
        timeline(call, 'assigned', 'activated', STEP_DETAIL.activated);
      }
      if (!call.ended) run(call, next);
      else if (call.reboot) await reboot(call);
    } catch (err) {
      d.log.error({ err, deviceId: call.deviceId }, 'activation failed');
      if (!call.ended) run(call, onFailure(call.state));
    } finally {
      call.busy = false;
    }
  }

  function keyPressed(call: Call, press: KeyPress | null): void {
    if (!press || call.state.done || call.ended) return;
    const pushed = call.digits.push(press);
    if (!pushed) return;
    call.media.interrupt();
    const entry = pushed.entry;
    if (!entry || call.busy) return;
    const action = onDigits(call.state, entry);
    if (action.do === 'redeem') redeem(call, action.code).catch((err: unknown) => d.log.error({ err }, 'activation failed'));
  }

  function localSdp(call: Call, offer: SessionDescription | null, choice: AudioChoice | null): string {
    const local = { address: d.media.host, port: call.media.port, sessionId: call.sessionId, version: call.sdpVersion++ };
    return offer && choice ? answerSdp(offer, choice, local) : offerSdp(local);
  }

  /** The phone's offer or answer: its description and the audio we take from it, or why not. */
  function readDescription(req: IncomingRequest): { ok: true; offer: SessionDescription; choice: AudioChoice } | { ok: false; status: number; reason: string } | null {
    const body = req.message.content ?? '';
    if (body === '') return null;
    const type = String(req.message.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/sdp') return { ok: false, status: 415, reason: `the body is ${type || 'untyped'}, not application/sdp` };
    const parsed = parseSdp(body);
    if (!parsed.ok) return { ok: false, status: 488, reason: parsed.reason };
    const choice = chooseAudio(parsed.value);
    if (!choice.ok) return { ok: false, status: 488, reason: choice.reason };
    return { ok: true, offer: parsed.value, choice: choice.value };
  }

  function refuse(req: IncomingRequest, r: { status: number; reason: string }): void {
    const reasons: Record<number, string> = { 415: 'Unsupported Media Type', 488: 'Not Acceptable Here' };
    req.reply(r.status, reasons[r.status]!, { headers: { ...warning(r.reason), ...(r.status === 415 ? { accept: 'application/sdp' } : {}) } });
  }

  async function invite(req: IncomingRequest): Promise<void> {
    const target = sip.parseUri(req.message.uri ?? '');
    if (!target || target.user !== d.serviceNumber) {
      req.reply(404, 'Not Found');
      return;
    }
    const caller = await callerDevice(req);
    if (!caller) return;
    const description = readDescription(req);
    if (description && !description.ok) {
      refuse(req, description);
      return;
    }
    if (calls.has(req.message.headers['call-id'] ?? '')) return;
    const ports = await d.media.pool.open();
    if (!ports) {
      req.reply(503, 'Service Unavailable', { headers: { ...warning('no free media port'), 'retry-after': 30 } });
      return;
    }
    const call = {
      deviceId: caller.deviceId, aor: caller.aor, source: req.source.address,
      sessionId: crypto.randomInt(1, 2 ** 31), sdpVersion: 1, awaitingAnswer: !description, acked: false,
      digits: new DigitCollector(CODE_LENGTH), state: initialEntry(), step: null, tones: 0, signalled: false, busy: false, reboot: false, ended: false,
    } as Omit<Call, 'dialog' | 'media' | 'timer'> as Call;
    call.media = new MediaSession(ports, d.media.pool, d.media.pacer, {
      signallingAddress: req.source.address,
      silence: prompts.silence,
      events: {
        event: (payload, timestamp) => {
          call.signalled = true;
          keyPressed(call, keyPressFromEvent(payload, timestamp));
        },
        tone: (digit) => {
          if (!call.signalled) keyPressed(call, { digit, key: `tone:${call.tones++}`, end: true });
        },
        played: () => played(call),
      },
    });
    if (description) call.media.use(description.choice);
    call.timer = setTimeout(() => end(call, 'bye'), ACK_WAIT_MS);
    call.dialog = d.sip.engine.createUasDialog(req, 200, 'OK', {
      headers: { 'content-type': 'application/sdp', allow: ALLOW },
      content: localSdp(call, description?.offer ?? null, description?.choice ?? null),
    });
    calls.set(call.dialog.callId, call);
  }

  function ack(call: Call, req: IncomingRequest): void {
    if (call.awaitingAnswer) {
      const answer = readDescription(req);
      if (!answer?.ok) {
        // An offer left unanswered or answered with nothing we can use ends the call (RFC 3261 §13.3.1.4).
        d.log.debug({ callId: call.dialog.callId, reason: answer?.reason ?? 'no SDP answer in the ACK' }, 'activation call without usable media');
        end(call, 'bye');
        return;
      }
      call.awaitingAnswer = false;
      call.media.use(answer.choice);
    }
    if (call.acked) return;
    call.acked = true;
    clearTimeout(call.timer);
    call.timer = setTimeout(() => end(call, 'bye'), CALL_LIMIT_MS);
    call.media.start();
    run(call, opening(wrongCodes.blocked(call.deviceId, call.source, Date.now())));
  }

  function reinvite(call: Call, req: IncomingRequest): void {
    const description = readDescription(req);
    if (description && !description.ok) {
      // The call goes on with the media it has (RFC 3261 §14.2).
      refuse(req, description);
      return;
    }
    if (description) call.media.use(description.choice);
    call.awaitingAnswer = !description;
    const opts: ReplyOptions = {
      headers: { 'content-type': 'application/sdp', allow: ALLOW, contact: [{ uri: `sip:${d.sip.registrarAddress()};transport=${req.source.transport}`, params: {} }] },
      content: localSdp(call, description?.offer ?? null, description?.choice ?? null),
    };
    req.reply(200, 'OK', opts);
  }

  function info(call: Call, req: IncomingRequest): void {
    const type = String(req.message.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/dtmf-relay' && type !== 'application/dtmf') {
      req.reply(415, 'Unsupported Media Type', { headers: { accept: 'application/dtmf-relay, application/dtmf' } });
      return;
    }
    const press = keyPressFromInfo(type, req.message.content ?? '', req.message.headers.cseq?.seq ?? 0);
    if (!press) {
      req.reply(400, 'Bad Request', { headers: warning(`the ${type} body names no key`) });
      return;
    }
    req.reply(200, 'OK');
    call.signalled = true;
    keyPressed(call, press);
  }

  function inDialog(req: IncomingRequest): void {
    const call = calls.get(req.message.headers['call-id'] ?? '');
    const method = req.message.method;
    if (!call || req.message.headers.to?.params.tag !== call.dialog.localTag) {
      if (method !== 'ACK') req.reply(481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (method === 'ACK') ack(call, req);
    else if (method === 'BYE') {
      req.reply(200, 'OK');
      end(call, 'caller');
    } else if (method === 'INVITE') reinvite(call, req);
    else if (method === 'INFO') info(call, req);
    else if (method === 'OPTIONS') req.reply(200, 'OK', { headers: { allow: ALLOW } });
    else req.reply(405, 'Method Not Allowed', { headers: { allow: ALLOW } });
  }

  return {
    /** Calls to the service number, and every request inside a call of ours. */
    owns(req: IncomingRequest): boolean {
      const m = req.message;
      const id = m.headers['call-id'] ?? '';
      if (calls.has(id) || (ended.get(id) ?? 0) > Date.now()) return true;
      return m.method === 'INVITE' && !m.headers.to?.params.tag && sip.parseUri(m.uri ?? '')?.user === d.serviceNumber;
    },
    handle(req: IncomingRequest): void {
      const m = req.message;
      if (m.method === 'INVITE' && !m.headers.to?.params.tag) {
        invite(req).catch((err: unknown) => {
          d.log.error({ err }, 'registration service INVITE failed');
          req.reply(500, 'Server Internal Error');
        });
      } else if (m.method === 'CANCEL') {
        // Calls are answered at once, so there is never a pending INVITE to cancel.
        req.reply(481, 'Call/Transaction Does Not Exist');
      } else {
        inDialog(req);
      }
    },
    /** Calls in progress: for tests and the bench, which check that every call's port comes back. */
    get calls(): number {
      return calls.size;
    },
    stop(): void {
      for (const call of [...calls.values()]) end(call, 'stop');
    },
  };
}
