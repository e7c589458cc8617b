import t from 'tap';
import { shareInAudio } from '../helpers/audio';
import { Softphone } from '../helpers/softphone';
import {
  DOMAIN, SERVICE, activatedAndRebooted, heardActivation, issueCode, office, registersAsExtension, rtpHeard, silenceWav, sipMessages, skip, sleep,
  tonesWav, ulaw, unknownPhone, watch,
} from './phones/office';

/**
 * A person at an unknown phone, with baresip as the phone against `dialtone
 * serve`: it registers with its activation file's account, dials the
 * registration service, hears the greeting (read back from dialtone's RTP on
 * the wire, and from the audio baresip decoded), keys its code, is bound and
 * rebooted, and comes back on its extension. The code goes as RFC 4733
 * events (baresip's `sndcode`), then as tones in its audio (sox-made).
 */
t.test('an unknown softphone activates by RFC 4733 events, hearing the prompts', { skip }, async (t) => {
  const o = await office(t);
  const mac = '805ec0dd0001';
  const code = await issueCode(o);
  const capture = await watch(t, o, 'events');
  const phone = await Softphone.start(t, await unknownPhone(o, mac), silenceWav(o));
  await phone.registered();
  phone.command('dial', `sip:${SERVICE}@${DOMAIN}`);
  await phone.event('CALL_ESTABLISHED');
  await sleep(5000);
  phone.command('sndcode', code);
  await phone.event('CALL_CLOSED', 30_000);
  await sleep(1500);
  const wire = await capture.stop();
  heardActivation(t, rtpHeard(o, wire), code);
  const audio = phone.heard();
  t.ok(shareInAudio(audio, ulaw('greeting')) > 0.9, 'baresip decoded the greeting: its recording holds the prompt, sample for sample');
  t.ok(shareInAudio(audio, ulaw('thank-you')) > 0.9, 'and "thank you"');
  t.ok(shareInAudio(audio, ulaw('goodbye')) < 0.1, 'and no other prompt than those played (no "goodbye")');
  await registersAsExtension(t, o, await activatedAndRebooted(t, o, mac, sipMessages(o, wire)));
});

t.test('an unknown softphone activates by DTMF tones in its audio', { skip }, async (t) => {
  const o = await office(t);
  const mac = '805ec0dd0003';
  const code = await issueCode(o);
  const capture = await watch(t, o, 'tones');
  // The microphone is silent for the greeting and "enter your code", then keys the code.
  const phone = await Softphone.start(t, await unknownPhone(o, mac), tonesWav(o, code, 5));
  await phone.registered();
  phone.command('dial', `sip:${SERVICE}@${DOMAIN}`);
  await phone.event('CALL_ESTABLISHED');
  await phone.event('CALL_CLOSED', 40_000);
  await sleep(1500);
  const wire = await capture.stop();
  heardActivation(t, rtpHeard(o, wire), code);
  t.ok(shareInAudio(phone.heard(), ulaw('greeting')) > 0.9, 'baresip decoded the greeting');
  await activatedAndRebooted(t, o, mac, sipMessages(o, wire));
});
