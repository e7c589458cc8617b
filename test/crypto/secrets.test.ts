import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SecretBox, parseKey } from '../../daemon/crypto/secret-box';
import { loadSecretKey } from '../../daemon/crypto/secret-key';
import { randomString } from '../../daemon/crypto/random';

t.test('sealed secrets open with the same key only', async (t) => {
  const box = new SecretBox(crypto.randomBytes(32));
  const sealed = box.seal('s3cret-sip-pass');
  t.notMatch(sealed, /s3cret/);
  t.not(box.seal('s3cret-sip-pass'), sealed, 'a fresh IV each time');
  t.equal(box.open(sealed), 's3cret-sip-pass');
  t.throws(() => new SecretBox(crypto.randomBytes(32)).open(sealed));
});

t.test('a tampered or malformed value does not open', async (t) => {
  const box = new SecretBox(crypto.randomBytes(32));
  const parts = box.seal('pin 482913').split(':');
  const body = Buffer.from(parts[3]!, 'base64');
  body.writeUInt8(body.readUInt8(0) ^ 1, 0);
  t.throws(() => box.open([parts[0], parts[1], parts[2], body.toString('base64')].join(':')));
  t.throws(() => box.open('plain text'), { message: /not a sealed secret/ });
});

t.test('keys: hex or base64, configured, kept in the data dir, or generated once', async (t) => {
  const hex = crypto.randomBytes(32).toString('hex');
  t.same(parseKey(hex), Buffer.from(hex, 'hex'));
  t.same(parseKey(Buffer.from(hex, 'hex').toString('base64')), Buffer.from(hex, 'hex'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-key-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = loadSecretKey(null, dir);
  t.equal(first.generatedAt, path.join(dir, 'secret.key'));
  t.equal(fs.statSync(first.generatedAt!).mode & 0o777, 0o600);
  const second = loadSecretKey(null, dir);
  t.equal(second.generatedAt, null);
  t.same(second.key, first.key);
  t.same(loadSecretKey(hex, dir).key, Buffer.from(hex, 'hex'));
});

t.test('random strings use only the safe alphabet and the requested length', async (t) => {
  const s = randomString(200);
  t.equal(s.length, 200);
  t.match(s, /^[a-zA-Z2-9]+$/);
  t.notMatch(s, /[01lIoO]/);
});
