import t from 'tap';
import { Problems, ValidationError } from '../../daemon/core/errors';
import { DEFAULT_SETTINGS, applySettings, effectiveSettings, settingsForReassignment, validateNumber } from '../../daemon/admin/domain/extension';

const ctx: { number: string | null; profileEmail: string | null } = { number: '1001', profileEmail: 'ada@acme.test' };
const owner = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.test' };
const hq = { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' };

function problems(input: Record<string, unknown>, c = ctx): Record<string, string> {
  try {
    applySettings(DEFAULT_SETTINGS, input, c);
  } catch (err) {
    if (err instanceof ValidationError) return Object.fromEntries(err.details.map((d) => [d.field, d.reason]));
    throw err;
  }
  throw new Error('expected a ValidationError');
}

t.test('caller ID and emails default from the profile, the emergency address from the site', async (t) => {
  const e = effectiveSettings(DEFAULT_SETTINGS, { number: '1001', owner, siteAddress: hq, pinSet: false });
  t.same(e.callerId, { name: 'Ada Lovelace', number: '1001' });
  t.equal(e.voicemail.email, 'ada@acme.test');
  t.same(e.emergencyAddress, hq);
  t.equal(e.emergencyAddressSource, 'site');
});

t.test('explicit settings override the defaults', async (t) => {
  const { settings } = applySettings(DEFAULT_SETTINGS, {
    callerId: { name: 'Reception' }, voicemail: { email: 'desk@acme.test' }, emergencyAddress: { ...hq, street: '2 Side St' },
  }, ctx);
  const e = effectiveSettings(settings, { number: '1001', owner, siteAddress: hq, pinSet: false });
  t.equal(e.callerId.name, 'Reception');
  t.equal(e.voicemail.email, 'desk@acme.test');
  t.equal(e.emergencyAddress?.street, '2 Side St');
  t.equal(e.emergencyAddressSource, 'extension');
});

t.test('voicemail PINs are numeric, six digits or more, and not guessable', async (t) => {
  t.equal(applySettings(DEFAULT_SETTINGS, { voicemail: { pin: '480135' } }, ctx).pin, '480135');
  t.match(problems({ voicemail: { pin: '12345' } })['voicemail.pin'], /6 to 16 digits/);
  t.equal(problems({ voicemail: { pin: 12345 } })['voicemail.pin'], 'must be a JSON string of 6 to 16 digits, such as "012345", not a number', 'a PIN sent as a number is told why');
  const numberProblem = (v: unknown) => {
    const p = new Problems();
    validateNumber(p, v);
    return p.list[0]?.reason;
  };
  t.equal(numberProblem(1001), 'must be a JSON string such as "1001", not a number');
  t.equal(numberProblem('1x'), 'must be 2 to 10 digits (0-9), such as 1001', 'no word of JSON, which a CSV row does not have');
  t.equal(numberProblem('1001'), undefined);
  t.match(problems({ voicemail: { pin: '12a456' } })['voicemail.pin'], /digits \(0-9\)/);
  t.match(problems({ voicemail: { pin: 123456 } })['voicemail.pin'], /not a number/);
  t.match(problems({ voicemail: { pin: '777777' } })['voicemail.pin'], /repeated/);
  t.match(problems({ voicemail: { pin: '100100' } }, { number: '100100', profileEmail: null })['voicemail.pin'], /extension number/);
});

t.test('every fax mode but disabled needs an email', async (t) => {
  t.equal(applySettings(DEFAULT_SETTINGS, { fax: { mode: 'link' } }, ctx).settings.fax.mode, 'link');
  t.match(problems({ fax: { mode: 'attachment' } }, { number: '1001', profileEmail: null })['fax.email'], /required when fax.mode is attachment/);
  t.match(problems({ fax: { mode: 'carrier-pigeon' } })['fax.mode'], /one of disabled, attachment, link_and_attachment, link/);
});

t.test('forwarding rules: known conditions once each, dialable destinations, ring time for no answer', async (t) => {
  const { settings } = applySettings(DEFAULT_SETTINGS, {
    forwarding: [{ condition: 'noAnswer', destination: '+15551234567' }, { condition: 'internetDown', destination: '2000', enabled: false }],
  }, ctx);
  t.same(settings.forwarding, [
    { condition: 'noAnswer', destination: '+15551234567', enabled: true, afterSeconds: 20 },
    { condition: 'internetDown', destination: '2000', enabled: false, afterSeconds: null },
  ]);
  const p = problems({ forwarding: [{ condition: 'always', destination: 'sip:evil' }, { condition: 'always', destination: '1', afterSeconds: 3 }, 'x'] });
  t.match(p['forwarding[0].destination'], /phone number/);
  t.match(p['forwarding[1].condition'], /appears twice/);
  t.match(p['forwarding[1].afterSeconds'], /only to the noAnswer/);
  t.match(p['forwarding[2]'], /object/);
});

t.test('codecs are an ordered list of known codecs without repeats', async (t) => {
  t.same(applySettings(DEFAULT_SETTINGS, { codecs: ['OPUS', 'PCMA'] }, ctx).settings.codecs, ['OPUS', 'PCMA']);
  t.match(problems({ codecs: [] }).codecs, /non-empty/);
  const p = problems({ codecs: ['PCMU', 'PCMU', 'MP3'] });
  t.match(p['codecs[1]'], /twice/);
  t.match(p['codecs[2]'], /one of/);
});

t.test('recording, calling permission, music on hold, online access', async (t) => {
  const { settings } = applySettings(DEFAULT_SETTINGS, {
    recording: { mode: 'on_demand', announceToCaller: true }, externalCalling: 'international', musicOnHold: 'jazz', onlineAccess: false,
  }, ctx);
  t.same(settings.recording, { mode: 'on_demand', announceToUser: false, announceToCaller: true });
  t.equal(settings.externalCalling, 'international');
  t.equal(settings.musicOnHold, 'jazz');
  t.equal(settings.onlineAccess, false);
  const p = problems({ recording: { mode: 'sometimes', extra: 1 }, externalCalling: 'galactic', musicOnHold: '../../etc/passwd', onlineAccess: 'yes' });
  t.ok(p['recording.mode'] && p['recording.extra'] && p.externalCalling && p.musicOnHold && p.onlineAccess);
});

t.test('caller ID names cannot smuggle header syntax', async (t) => {
  t.match(problems({ callerId: { name: 'Eve" <sip:evil>' } })['callerId.name'], /must not contain/);
});

t.test('reassignment clears the departing user\'s emails and keeps other overrides', async (t) => {
  const { settings } = applySettings(DEFAULT_SETTINGS, {
    voicemail: { email: 'ADA@acme.test' }, fax: { mode: 'link', email: 'fax-desk@acme.test' }, callerId: { name: 'Support Line' },
  }, ctx);
  const moved = settingsForReassignment(settings, 'ada@acme.test');
  t.equal(moved.voicemail.email, null);
  t.equal(moved.fax.email, 'fax-desk@acme.test');
  t.equal(moved.callerId.name, 'Support Line');
  t.equal(settings.voicemail.email, 'ADA@acme.test', 'the input is not modified');
});
