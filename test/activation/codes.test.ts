import t from 'tap';
import { flushMail } from '../helpers/mail';
import { CODE_LENGTH, formatCode, generateCode, readCode } from '../../daemon/activation/code';
import { redeemCode } from '../../daemon/activation/codes';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp } from '../helpers/app';

t.test('codes are digits with a check digit that catches typos', async (t) => {
  for (let i = 0; i < 200; i++) {
    const code = generateCode();
    t.match(code, new RegExp(`^[0-9]{${CODE_LENGTH}}$`));
    t.same(readCode(code), { ok: true, code });
    const last = Number(code.slice(-1));
    t.same(readCode(code.slice(0, -1) + String((last + 1) % 10)), { ok: false, reason: 'check' }, 'one wrong digit');
    // Luhn catches every swap of adjacent digits except 0 and 9.
    if (code[0] !== code[1] && `${code[0]}${code[1]}` !== '09' && `${code[0]}${code[1]}` !== '90') t.same(readCode(code[1]! + code[0]! + code.slice(2)), { ok: false, reason: 'check' }, 'two swapped digits');
  }
  const printed = generateCode();
  t.same(readCode(formatCode(printed)), { ok: true, code: printed }, 'as printed, with dashes');
  t.same(readCode(` ${formatCode(printed)} `), { ok: true, code: printed }, 'with spaces around');
  for (const junk of ['', '123', '12345678901', 'abcdefghij', '79927#9871', '７９９２７３９８７１', "1' or 1=1"]) {
    t.same(readCode(junk), { ok: false, reason: 'length' }, JSON.stringify(junk));
  }
});

for (const kind of databaseKinds()) {
  t.test(`activation codes on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const acme = await makeTenant(ta, 'acme.sip.test');
    const beta = await makeTenant(ta, 'beta.sip.test');
    const user = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Ada', lastName: 'L', email: 'ada@acme.test' } });
    const ext = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1001', userId: user.body.id } });
    const url = `/api/v1/extensions/${ext.body.id}/activation-code`;

    await flushMail(ta);
    const welcomed = await ta.call('GET', url, { token: acme.token });
    t.equal(welcomed.status, 200, 'the welcome email issued one');
    const blank = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1009', place: { name: 'Spare desk' } } });
    t.equal((await ta.call('GET', `/api/v1/extensions/${blank.body.id}/activation-code`, { token: acme.token })).status, 404, 'none for an extension nobody was welcomed to');
    const first = await ta.call('POST', url, { token: acme.token });
    t.equal(first.status, 201);
    t.match(first.body, { code: /^[0-9]{10}$/, formatted: /^\d{3}-\d{3}-\d{4}$/, expiresAt: String });
    t.same((await ta.call('GET', url, { token: acme.token })).body, first.body);
    t.equal((await ta.call('POST', url, { token: beta.token })).status, 404, 'another tenant cannot issue one');
    t.equal((await ta.call('GET', url, { token: beta.token })).status, 404, 'nor read it');

    const second = await ta.call('POST', url, { token: acme.token });
    const knex = ta.app.runtime.db.knex;
    t.same(await redeemCode(knex, first.body.code, 'device-a'), { ok: false, reason: 'unknown' }, 'a reissued code replaces the old one');
    t.same(await redeemCode(knex, '0000000001', 'device-a'), { ok: false, reason: 'mistyped' });
    t.same(await redeemCode(knex, '0000000000', 'device-a'), { ok: false, reason: 'unknown' }, 'well-formed but never issued');
    const [a, b] = await Promise.all([redeemCode(knex, second.body.formatted, 'device-a'), redeemCode(knex, second.body.code, 'device-b')]);
    t.same([a, b].filter((r) => r.ok), [{ ok: true, extensionId: ext.body.id, tenantId: acme.tenant.id }], 'only one phone wins a code');
    t.same(await redeemCode(knex, second.body.code, 'device-c'), { ok: false, reason: 'unknown' }, 'a used code is spent');
    t.equal((await ta.call('GET', url, { token: acme.token })).status, 404);

    const third = await ta.call('POST', url, { token: acme.token });
    await knex('activation_codes').where('code_hash', '!=', '').whereNull('used_at').whereNull('revoked_at').update({ expires_at: '2000-01-01T00:00:00.000Z' });
    t.same(await redeemCode(knex, third.body.code, 'device-d'), { ok: false, reason: 'expired' });
  });
}
