import t from 'tap';
import { parseRedisUrl } from '../../daemon/storage/redis-client';

t.test('one server: the URL as ioredis reads it', async (t) => {
  for (const url of ['redis://127.0.0.1:6379/', 'redis://127.0.0.1:6379/9', 'redis://:secret@redis.example.net:6380/0', 'rediss://user:p%40ss@redis.example.net/', 'redis://[::1]:6379', 'REDIS://h/1']) {
    t.same(parseRedisUrl(url), { ok: true, target: { kind: 'standalone', url } }, url);
  }
});

t.test('a cluster: every node given, the password percent-decoded, 6379 by default', async (t) => {
  t.same(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[fd00::3]:7002/'), {
    ok: true, target: { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }, { host: 'fd00::3', port: 7002 }], auth: {} },
  });
  t.same(parseRedisUrl('redis+cluster://ops:p%40ss%3Aw0rd@redis-a.example.net:7000'), {
    ok: true, target: { kind: 'cluster', nodes: [{ host: 'redis-a.example.net', port: 7000 }], auth: { username: 'ops', password: 'p@ss:w0rd' } },
  });
  t.same(parseRedisUrl('redis+cluster://:only-a-password@h1:7000/'), {
    ok: true, target: { kind: 'cluster', nodes: [{ host: 'h1', port: 7000 }], auth: { password: 'only-a-password' } },
  }, 'a password alone, as in redis://');
});

t.test('sentinels: the master by name, its database, 26379 by default', async (t) => {
  t.same(parseRedisUrl('redis+sentinel://10.0.0.1,10.0.0.2:26380/mymaster'), {
    ok: true, target: { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }], name: 'mymaster', db: 0, auth: {} },
  });
  t.same(parseRedisUrl('redis+sentinel://:pw@[::1]:26379/dialtone.main/3'), {
    ok: true, target: { kind: 'sentinel', sentinels: [{ host: '::1', port: 26379 }], name: 'dialtone.main', db: 3, auth: { password: 'pw' } },
  });
});

t.test('a URL it cannot use is refused with the reason, never echoing the password', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /^must be one of `redis:\/\//],
    ['x'.repeat(2001), /^must be one of/],
    ['127.0.0.1:6379', /^must be one of .*redis\+cluster.*redis\+sentinel/],
    ['http://h:6379/', /; http:\/\/ is none of them$/],
    ['redis+clusterx://h/', /; redis\+clusterx:\/\/ is none of them$/],
    ['redis://h:6379/ 1', /^must not contain spaces or control characters$/],
    ['redis+cluster://h:1,\nh2:2/', /^must not contain spaces or control characters$/],
    ['redis://h:99999/', /^must be one of .*; it is not a URL$/],
    ['redis:///0', /^must name the Redis host$/],
    ['redis://h/zero', /^must end with \/<database number>/],
    ['redis://h/1/2', /^must end with \/<database number>/],
    ['rediss+cluster://h1,h2/', /^TLS is supported to a single server \(rediss:\/\/\) only/],
    ['rediss+sentinel://h1/m', /^TLS is supported to a single server/],
    ['redis+cluster://', /^must name at least one host$/],
    ['redis+cluster://secret@/', /^must name at least one host$/],
    ['redis+cluster://h1,,h2/', /^has a node "" that is not host:port$/],
    ['redis+cluster://h1,/', /^has a node "" that is not host:port$/],
    ['redis+cluster://h1:0/', /^has an invalid port "0" for h1/],
    ['redis+cluster://h1:65536/', /^has an invalid port "65536" for h1/],
    ['redis+cluster://h1:70a/', /^has an invalid port "70a" for h1/],
    ['redis+cluster://h1:1:2/', /^has a node "h1:1:2" that is not host:port \(an IPv6 address goes in brackets\)$/],
    ['redis+cluster://h_1:7000/', /^has an invalid host "h_1"/],
    ['redis+cluster://999.1.1.1:7000/', /^has an invalid host "999.1.1.1"/],
    ['redis+cluster://[fd00::zz]:7000/', /^has an invalid IPv6 address "fd00::zz"$/],
    ['redis+cluster://[fd00::1/', /^has a node "\[fd00::1" that is not host:port$/],
    ['redis+cluster://fd00::1/', /^has a node "fd00::1" that is not host:port \(an IPv6 address goes in brackets\)$/],
    ['redis+cluster://h1:7000/0', /^must end after its hosts \(or with \/\): a Redis Cluster has database 0 only$/],
    ['redis+cluster://h1:7000/?password=x', /^takes no \?query or #fragment/],
    ['redis+cluster://h1:7000#x', /^takes no \?query or #fragment/],
    ['redis+cluster://:%zzsecret@h1/', /^has a user name or password with a broken %-escape$/],
    [`redis+cluster://${Array.from({ length: 65 }, (_, i) => `h${i}`).join(',')}/`, /^names more than 64 hosts$/],
    ['redis+sentinel://s1,s2', /^must name the master after the hosts/],
    ['redis+sentinel://s1,s2/', /^must name the master after the hosts/],
    ['redis+sentinel://s1/my%20master', /^must name the master after the hosts/],
    ['redis+sentinel://s1/' + 'm'.repeat(65), /^must name the master after the hosts/],
    ['redis+sentinel://s1/m/x', /^may end with \/<database number> after the master name, and nothing else$/],
    ['redis+sentinel://s1/m/1/2', /^may end with \/<database number>/],
    ['redis+sentinel://s1/m/100', /^may end with \/<database number>/],
  ];
  for (const [url, reason] of cases) {
    const r = parseRedisUrl(url);
    t.match(r, { ok: false, reason }, JSON.stringify(url.slice(0, 80)));
  }
  for (const url of ['redis+cluster://:hunter2-secret@h1:99/,h2:bad/', 'redis+cluster://:hunter2-secret@h1:99x,h2/', 'redis+sentinel://u:hunter2-secret@s1/']) {
    const r = parseRedisUrl(url);
    t.equal(r.ok, false, url);
    t.notMatch(JSON.stringify(r), /hunter2/, 'the password stays out of the reason');
  }
});
