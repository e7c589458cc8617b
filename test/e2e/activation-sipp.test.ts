import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { shareInAudio } from '../helpers/audio';
import { heardAt, heardShare } from '../helpers/phone';
import { freeUdpPort } from '../helpers/ports';
import { run } from '../helpers/serve';
import { Softphone } from '../helpers/softphone';
import {
  DOMAIN, SERVICE, activatedAndRebooted, heardActivation, issueCode, office, rtpHeard, silenceWav, sipMessages, skip, sleep, ulaw, unknownPhone, watch,
} from './phones/office';

/**
 * The registration service against `dialtone serve`, with dialtone's RTP
 * read back from the wire: sipp as a phone that sends audio and keys its
 * code as SIP INFO (baresip 1.0 sends only RFC 4733), and baresip keying
 * three wrong codes.
 */
t.test('an unknown phone (sipp with audio) activates by SIP INFO, hearing the prompts', { skip }, async (t) => {
  const o = await office(t);
  const mac = '805ec0dd0002';
  const code = await issueCode(o);
  const account = await unknownPhone(o, mac);
  const capture = await watch(t, o, 'info');
  fs.writeFileSync(path.join(o.dir, 'phone.csv'), `SEQUENTIAL\n${account.user};[authentication username=${account.user} password=${account.password}]\n`);
  // The audio it sends: µ-law silence, looped.
  const silence = path.join(o.dir, 'silence.ulaw');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', '-t', 'raw', silence, 'trim', '0', '1']);
  const scenario = path.join(o.dir, 'activation-info.xml');
  fs.writeFileSync(scenario, fs.readFileSync(path.join(__dirname, 'phones', 'activation-info.xml'), 'utf8').replace('rtp_stream="silence.ulaw', `rtp_stream="${silence}`));
  const digits = [...code].flatMap((d, i) => ['-key', `d${i}`, d]);
  const sipp = await run('sipp', [`127.0.0.1:${o.sipPort}`, '-sf', scenario, '-inf', path.join(o.dir, 'phone.csv'),
    '-i', '127.0.0.1', '-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort()), '-key', 'domain', DOMAIN, '-key', 'dialed', SERVICE, ...digits,
    '-aa', '-m', '1', '-l', '1', '-timeout', '60s', '-timeout_error', '-nostdin', '-trace_err', '-error_file', path.join(o.dir, 'sipp-errors.log')], { PATH: process.env.PATH }, 70_000);
  await sleep(500);
  const wire = await capture.stop();
  const errors = fs.existsSync(path.join(o.dir, 'sipp-errors.log')) ? fs.readFileSync(path.join(o.dir, 'sipp-errors.log'), 'utf8') : '';
  t.equal(sipp.code, 0, sipp.code === 0 ? 'sipp played its scenario through: dialtone hung up after the code' : sipp.output + errors);
  heardActivation(t, rtpHeard(o, wire), code);
  const messages = sipMessages(o, wire);
  t.same(messages.filter((m) => m.fromDialtone && m.message.headers.cseq?.method === 'INFO').map((m) => m.message.status), new Array(10).fill(200), 'each of the ten INFOs answered 200');
  await activatedAndRebooted(t, o, mac, messages);
});

t.test('a wrong code plays "not valid"; the third gets goodbye, and dialtone hangs up', { skip }, async (t) => {
  const o = await office(t);
  const mac = '805ec0dd0004';
  await issueCode(o);
  const capture = await watch(t, o, 'wrong');
  const phone = await Softphone.start(t, await unknownPhone(o, mac), silenceWav(o));
  await phone.registered();
  phone.command('dial', `sip:${SERVICE}@${DOMAIN}`);
  await phone.event('CALL_ESTABLISHED');
  await sleep(4500);
  // "not valid" and "enter your code" take 3.6 s: each wrong code after them.
  for (const wrong of ['0000000000', '1234567890']) {
    phone.command('sndcode', wrong);
    await sleep(6000);
  }
  phone.command('sndcode', '5555555555');
  await phone.event('CALL_CLOSED', 20_000);
  await sleep(500);
  const wire = await capture.stop();
  const heard = rtpHeard(o, wire);
  t.ok(heardShare(heard, ulaw('code-not-valid')) > 0.9, 'the phone was sent "that code is not valid"');
  t.ok(heardShare(heard, ulaw('goodbye')) > 0.9, 'and, at the third, "too many tries, goodbye"');
  t.ok(heardAt(heard, ulaw('code-not-valid')) < heardAt(heard, ulaw('goodbye')), 'in that order');
  t.ok(heardShare(heard, ulaw('thank-you')) < 0.1, 'never "thank you"');
  const audio = phone.heard();
  t.ok(shareInAudio(audio, ulaw('code-not-valid')) > 0.9 && shareInAudio(audio, ulaw('goodbye')) > 0.9, 'baresip decoded both');
  const messages = sipMessages(o, wire);
  t.ok(messages.some((m) => m.fromDialtone && m.message.method === 'BYE'), 'dialtone hung up');
  t.notOk(messages.some((m) => m.fromDialtone && m.message.method === 'NOTIFY'), 'no reboot');
  const device = (await o.api('GET', `/devices?mac=${mac}`, undefined, o.operator)).body.items[0];
  t.equal(device.extensionId, null, 'the phone is bound to nothing');
  const events = (await o.api('GET', `/devices/${device.id}/events`, undefined, o.operator)).body.items as { kind: string; result: string }[];
  t.equal(events.filter((e) => e.kind === 'call' && e.result === 'refused').length, 3, 'each wrong code is in its timeline');
});
