import t from 'tap';
import WebSocket from 'ws';
import { type Invitation, Registerer, RegistererState, SessionState, UserAgent } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js';
import { SDP, fixture } from '../helpers/calls';
import { Ua } from '../helpers/sip-ua';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';

/**
 * The phone's media stack stands in for a browser's WebRTC: sip.js needs
 * some description to answer with, and dialtone carries no media anyway.
 */
function sdpOnly(): SessionDescriptionHandler {
  return {
    close: () => undefined,
    getDescription: async () => ({ body: SDP, contentType: 'application/sdp' }),
    hasDescription: (type: string) => type === 'application/sdp',
    setDescription: async () => undefined,
    sendDtmf: () => false,
  };
}

const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it carries no WebSocket and relays no calls';

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`the PBX calls a sip.js phone registered over WebSocket, which answers; the PBX hangs up, on the ${name}`, { skip: kind === 'standin' ? STANDIN_SKIP : skip }, async (t) => {
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_SIP_TRANSPORTS: 'udp,tcp,ws' });
    const sipc = f.ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { engine: { addresses(): { ws?: number } } } };
    const ringing: Invitation[] = [];
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:202@${f.domain}`)!,
      transportOptions: { server: `ws://127.0.0.1:${sipc.sip.engine.addresses().ws}` },
      authorizationUsername: f.ext['202']!.username,
      authorizationPassword: f.ext['202']!.password,
      sessionDescriptionHandlerFactory: () => sdpOnly(),
      delegate: { onInvite: (invitation) => ringing.push(invitation) },
      logLevel: 'error',
    });
    t.teardown(() => ua.stop());
    await ua.start();
    const registerer = new Registerer(ua, { expires: 300 });
    const registered = new Promise<void>((resolve) => registerer.stateChange.addListener((s) => s === RegistererState.Registered && resolve()));
    await registerer.register();
    await registered;

    f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text);
    while (ringing.length === 0) await new Promise((r) => setTimeout(r, 20));
    const invitation = ringing[0]!;
    const ended = new Promise<void>((resolve) => invitation.stateChange.addListener((s) => s === SessionState.Terminated && resolve()));
    await invitation.accept();

    const ok = await f.pbx.peer.nextWithStatus(200);
    t.ok(ok, 'the answer reaches the PBX');
    const dialog = Ua.dialogAsCaller(ok, 1);
    f.pbx.peer.send(f.pbx.inDialog(dialog, 'ACK', { cseq: 1 }));
    const bye = await f.pbx.send(f.pbx.inDialog(dialog, 'BYE'));
    t.equal(bye.at(-1)!.status, 200, "the PBX's BYE reaches the phone over its WebSocket and is answered");
    await ended;
    t.pass('the phone sees the call end');
  });
}
