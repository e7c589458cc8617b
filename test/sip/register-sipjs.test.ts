import t from 'tap';
import WebSocket from 'ws';
import { Registerer, RegistererState, UserAgent } from 'sip.js';
import { sipFixture } from '../helpers/sip';

t.test('a sip.js client registers over WebSocket, is listed, and unregisters', async (t) => {
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  const f = await sipFixture(t);
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${f.extension.number}@${f.domain}`)!,
    transportOptions: { server: `ws://127.0.0.1:${f.ports.ws}` },
    authorizationUsername: f.creds.username,
    authorizationPassword: f.creds.password,
    logLevel: 'error',
  });
  t.teardown(() => ua.stop());
  await ua.start();
  const registerer = new Registerer(ua, { expires: 300 });
  const states: RegistererState[] = [];
  const reached = (state: RegistererState) => new Promise<void>((resolve) => {
    registerer.stateChange.addListener((s) => {
      states.push(s);
      if (s === state) resolve();
    });
  });
  const registered = reached(RegistererState.Registered);
  await registerer.register();
  await registered;
  const regs = await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token });
  t.equal(regs.body.items.length, 1);
  t.match(regs.body.items[0], { transport: 'ws', userAgent: /^SIP\.js\//, contact: /;transport=ws/ });
  const unregistered = reached(RegistererState.Unregistered);
  await registerer.unregister();
  await unregistered;
  const after = await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token });
  t.same(after.body.items, []);
});
