import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import t from 'tap';
import { SDP, fixture } from '../helpers/calls';
import { ENGINE_KINDS, type EngineKind } from '../helpers/drachtio-server';
import { hasBinary } from '../helpers/sip';
import { Ua } from '../helpers/sip-ua';

/**
 * A phone behind NAT, made of two network namespaces: the phone's, on a
 * private network, and a router's that masquerades it onto a link to this
 * host. Its Contact names a private address nothing here can reach; the
 * PBX's call must reach it through the NAT binding its REGISTER opened.
 */
const canRun = process.getuid?.() === 0 && hasBinary('ip') && hasBinary('nft');

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

/** The phone: registers with digest from its private address, answers one call, and takes the BYE. */
const PHONE = `
const dgram = require('node:dgram');
const crypto = require('node:crypto');
const { SERVER, PORT, USER, NUMBER, PASSWORD, DOMAIN } = process.env;
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const s = dgram.createSocket('udp4');
const say = (m) => process.stdout.write(m + '\\n');
const contact = '<sip:' + NUMBER + '@192.168.77.2:5062>';
const register = (cseq, auth) => s.send([
  'REGISTER sip:' + DOMAIN + ' SIP/2.0', 'Via: SIP/2.0/UDP 192.168.77.2:5062;branch=z9hG4bKnat' + cseq + ';rport',
  'From: <sip:' + NUMBER + '@' + DOMAIN + '>;tag=nat1', 'To: <sip:' + NUMBER + '@' + DOMAIN + '>', 'Call-ID: nat-reg', 'CSeq: ' + cseq + ' REGISTER',
  'Contact: ' + contact, 'Expires: 600', 'Max-Forwards: 70', ...(auth ? ['Authorization: ' + auth] : []), 'Content-Length: 0', '', ''].join('\\r\\n'), Number(PORT), SERVER);
const header = (text, name) => text.split('\\r\\n').filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'));
s.on('message', (b) => {
  const text = b.toString();
  const first = text.split('\\r\\n')[0];
  if (first.startsWith('SIP/2.0 401')) {
    const ch = header(text, 'WWW-Authenticate').find((l) => /algorithm=MD5/.test(l));
    const realm = /realm="([^"]+)"/.exec(ch)[1];
    const nonce = /nonce="([^"]+)"/.exec(ch)[1];
    const ha1 = md5(USER + ':' + realm + ':' + PASSWORD);
    const ha2 = md5('REGISTER:sip:' + DOMAIN);
    const response = md5(ha1 + ':' + nonce + ':00000001:c0ffee:auth:' + ha2);
    register(2, 'Digest username="' + USER + '", realm="' + realm + '", nonce="' + nonce + '", uri="sip:' + DOMAIN + '", response="' + response + '", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"');
  } else if (first.startsWith('SIP/2.0 200') && /REGISTER/.test(header(text, 'CSeq')[0])) {
    say('registered');
  } else if (first.startsWith('INVITE')) {
    say('invited ' + first.split(' ')[1]);
    const keep = ['Via', 'From', 'Call-ID', 'CSeq', 'Record-Route'].flatMap((h) => header(text, h));
    const to = header(text, 'To')[0] + ';tag=behindnat';
    for (const status of ['180 Ringing', '200 OK']) s.send(['SIP/2.0 ' + status, ...keep, to, 'Contact: ' + contact, 'Content-Length: 0', '', ''].join('\\r\\n'), Number(PORT), SERVER);
  } else if (first.startsWith('ACK')) {
    say('acked');
  } else if (first.startsWith('BYE')) {
    const keep = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].flatMap((h) => header(text, h));
    s.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\\r\\n'), Number(PORT), SERVER, () => { say('bye'); process.exit(0); });
  }
});
s.bind(5062, '0.0.0.0', () => register(1));
`;

/** Where the NAT test cannot run: drachtio-server routes requests inside a call itself, to the phone's Contact (processRequestWithRouteHeader in sip-proxy-controller.cpp). */
const NOT_ON: Record<EngineKind, string | false> = {
  builtin: false,
  standin: 'the wire-protocol stand-in is no SIP stack: it relays no calls',
  drachtio: "drachtio-server would send the PBX's BYE to the phone's Contact, 192.168.77.2, which only the phone's NAT knows",
};

for (const { kind, name } of ENGINE_KINDS) {
  t.test(`the PBX calls a phone behind NAT through the binding its REGISTER opened, on the ${name}`, { skip: canRun ? NOT_ON[kind] : 'needs root, ip and nft (network namespaces)' }, async (t) => {
    const id = crypto.randomBytes(2).toString('hex');
    const octet = 100 + (parseInt(id, 16) % 100);
    const [router, phoneNs, hostLink] = [`dtr${id}`, `dtp${id}`, `dth${id}`];
    const hostAddress = `10.${octet}.0.1`;
    const natAddress = `10.${octet}.0.2`;
    t.teardown(() => {
      spawnSync('sh', ['-c', `ip netns del ${phoneNs}; ip netns del ${router}; ip link del ${hostLink}`]);
    });
    sh(`ip netns add ${router} && ip netns add ${phoneNs}`);
    sh(`ip link add ${hostLink} type veth peer name up${id} && ip link set up${id} netns ${router}`);
    sh(`ip addr add ${hostAddress}/24 dev ${hostLink} && ip link set ${hostLink} up`);
    sh(`ip -n ${router} addr add ${natAddress}/24 dev up${id} && ip -n ${router} link set up${id} up && ip -n ${router} link set lo up`);
    sh(`ip link add lan${id} type veth peer name ph${id} && ip link set lan${id} netns ${router} && ip link set ph${id} netns ${phoneNs}`);
    sh(`ip -n ${router} addr add 192.168.77.1/24 dev lan${id} && ip -n ${router} link set lan${id} up`);
    sh(`ip -n ${phoneNs} addr add 192.168.77.2/24 dev ph${id} && ip -n ${phoneNs} link set ph${id} up && ip -n ${phoneNs} link set lo up && ip -n ${phoneNs} route add default via 192.168.77.1`);
    sh(`ip netns exec ${router} sysctl -qw net.ipv4.ip_forward=1`);
    sh(`ip netns exec ${router} nft add table ip nat && ip netns exec ${router} nft add chain ip nat post '{ type nat hook postrouting priority 100; }' && ip netns exec ${router} nft add rule ip nat post oifname up${id} masquerade`);

    const f = await fixture(t, { DIALTONE_SIP_HOST: '0.0.0.0', DIALTONE_SIP_PUBLIC_HOST: hostAddress });
    const creds = f.ext['202']!;
    const child = spawn('ip', ['netns', 'exec', phoneNs, process.execPath, '-e', PHONE], {
      env: { ...process.env, SERVER: hostAddress, PORT: String(f.port), USER: creds.username, NUMBER: '202', PASSWORD: creds.password, DOMAIN: f.domain },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => child.kill());
    const lines: string[] = [];
    let wake: (() => void) | null = null;
    child.stdout.on('data', (d: Buffer) => {
      lines.push(...d.toString().trim().split('\n'));
      wake?.();
    });
    const said = async (prefix: string) => {
      while (!lines.some((l) => l.startsWith(prefix))) await new Promise<void>((r) => (wake = r));
      return lines.find((l) => l.startsWith(prefix))!;
    };
    await said('registered');
    const regs = await f.ta.call('GET', `/api/v1/extensions/${creds.id}/registrations`, { token: f.token });
    t.equal(regs.body.items[0].contact, 'sip:202@192.168.77.2:5062', 'the phone registered its private address');
    t.match(regs.body.items[0].source, new RegExp(`^${natAddress.replace(/\./g, '\\.')}:\\d+$`), 'from the address its NAT gave it');

    f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text);
    t.equal(await said('invited'), 'invited sip:202@192.168.77.2:5062', 'the INVITE crossed the NAT with the Contact as its Request-URI');
    const ok = await f.pbx.peer.nextWithStatus(200);
    const dialog = Ua.dialogAsCaller(ok, 1);
    f.pbx.peer.send(f.pbx.inDialog(dialog, 'ACK', { cseq: 1 }));
    await said('acked');
    const bye = await f.pbx.send(f.pbx.inDialog(dialog, 'BYE'));
    t.equal(bye.at(-1)!.status, 200, 'the BYE follows the flow token through the NAT and is answered');
  });
}
