import t from 'tap';
import { ConfigError, loadConfig } from '../../daemon/config/load';

t.test('SIP options: defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.sipEngine, 'builtin');
  t.same(c.sipTransports, ['udp', 'tcp', 'ws']);
  t.equal(c.sipWsPort, 5066);
  t.same(c.sipDigestAlgorithms, ['MD5', 'SHA-256']);
  t.match(c, { sipExpiresMin: 60, sipExpiresMax: 3600, sipMaxContacts: 5, sipNonceSeconds: 300, sipLockoutUser: 10, sipLockoutSource: 30, sipLockoutSeconds: 900, drachtioSecret: null });
});

t.test('SIP options: lists keep their order and ignore case', async (t) => {
  t.same(loadConfig({ DIALTONE_SIP_DIGEST_ALGORITHMS: 'sha-256, md5' }).sipDigestAlgorithms, ['SHA-256', 'MD5']);
  t.same(loadConfig({ DIALTONE_SIP_TRANSPORTS: 'TCP' }).sipTransports, ['tcp']);
});

t.test('SIP options: wrong values are refused with the reason', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DIALTONE_SIP_ENGINE: 'kamailio' }, /DIALTONE_SIP_ENGINE: must be builtin or drachtio/],
    [{ DIALTONE_SIP_TRANSPORTS: 'udp,udp' }, /DIALTONE_SIP_TRANSPORTS: lists udp twice/],
    [{ DIALTONE_SIP_TRANSPORTS: 'udp,tls' }, /DIALTONE_SIP_TRANSPORTS: must list values among udp, tcp, ws, got "tls"/],
    [{ DIALTONE_SIP_TRANSPORTS: ' , ' }, /DIALTONE_SIP_TRANSPORTS: must list at least one/],
    [{ DIALTONE_SIP_DIGEST_ALGORITHMS: 'SHA-512' }, /DIALTONE_SIP_DIGEST_ALGORITHMS: must list values among MD5, SHA-256/],
    [{ DIALTONE_SIP_EXPIRES_MIN: '0' }, /DIALTONE_SIP_EXPIRES_MIN: must be a whole number from 1 to 86400/],
    [{ DIALTONE_SIP_MAX_CONTACTS: '-3' }, /DIALTONE_SIP_MAX_CONTACTS: must be a whole number/],
    [{ DIALTONE_SIP_NONCE_SECONDS: '1e3' }, /DIALTONE_SIP_NONCE_SECONDS: must be a whole number/],
    [{ DIALTONE_SIP_WS_PORT: '0' }, /DIALTONE_SIP_WS_PORT: must be a port number/],
    [{ DIALTONE_DRACHTIO_SECRET: '  ' }, /DIALTONE_DRACHTIO_SECRET: must not be empty/],
    [{ DIALTONE_SIP_PUBLIC_HOST: 'a b' }, /DIALTONE_SIP_PUBLIC_HOST: must be a host name/],
  ];
  for (const [env, message] of cases) t.throws(() => loadConfig(env), { constructor: ConfigError, message }, JSON.stringify(env));
});
