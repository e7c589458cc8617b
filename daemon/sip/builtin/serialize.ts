import type { AuthHeader, Message, NameAddr, Uri, Via } from 'sip';

/**
 * SIP messages to text, byte for byte as the `sip` package writes them, with
 * no regular expression or intermediate array per header: at registration
 * storm rates every answer the registrar sends goes through here.
 */

const NAMES: Record<string, string> = {
  'call-id': 'Call-ID', 'content-length': 'Content-Length', 'content-type': 'Content-Type', 'max-forwards': 'Max-Forwards',
  'user-agent': 'User-Agent', 'min-expires': 'Min-Expires', 'expires': 'Expires', 'allow': 'Allow', 'accept': 'Accept',
  'supported': 'Supported', 'warning': 'Warning', 'date': 'Date', 'event': 'Event', 'subscription-state': 'Subscription-State',
  'server': 'Server', 'require': 'Require', 'unsupported': 'Unsupported', 'retry-after': 'Retry-After',
};
const prettified = new Map<string, string>();
const PRETTIFIED_MAX = 1000;

/** The package's rule: every letter after a word boundary upper-cased. */
function pretty(name: string): string {
  const known = NAMES[name] ?? prettified.get(name);
  if (known !== undefined) return known;
  const made = name.replace(/\b([a-z])/g, (a) => a.toUpperCase());
  if (prettified.size < PRETTIFIED_MAX) prettified.set(name, made);
  return made;
}

function params(p: Record<string, unknown> | undefined): string {
  let s = '';
  for (const n in p) {
    const v = p[n];
    s += v ? `;${n}=${v as string}` : `;${n}`;
  }
  return s;
}

function stringifyUri(uri: Uri | string): string {
  if (typeof uri === 'string') return uri;
  let s = `${uri.schema || 'sip'}:`;
  if (uri.user) s += uri.password ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  s += uri.host;
  if (uri.port) s += `:${uri.port}`;
  if (uri.params) s += params(uri.params);
  if (uri.headers) {
    const h = Object.keys(uri.headers).map((x) => `${x}=${uri.headers[x]}`).join('&');
    if (h.length) s += `?${h}`;
  }
  return s;
}

function nameAddr(a: NameAddr): string {
  return `${a.name || ''} <${stringifyUri(a.uri)}>${params(a.params)}`;
}

function nameAddrs(list: NameAddr[]): string {
  let s = '';
  for (let i = 0; i < list.length; i++) s += i === 0 ? nameAddr(list[i]!) : `, ${nameAddr(list[i]!)}`;
  return s;
}

function auth(a: AuthHeader): string {
  let s = '';
  for (const n in a) {
    if (n !== 'scheme' && a[n] !== undefined) s += s === '' ? `${n}=${a[n]}` : `,${n}=${a[n]}`;
  }
  return a.scheme ? `${a.scheme} ${s}` : s;
}

function authLines(name: string, list: AuthHeader[]): string {
  let s = '';
  for (const a of list) s += `${name}: ${auth(a)}\r\n`;
  return s;
}

function header(n: string, v: unknown): string {
  switch (n) {
    case 'via': {
      let s = '';
      for (const via of v as Via[]) {
        if (via.host) s += `Via: SIP/${via.version || '2.0'}/${via.protocol.toUpperCase()} ${via.host}${via.port ? `:${via.port}` : ''}${params(via.params)}\r\n`;
      }
      return s;
    }
    case 'to':
      return `To: ${nameAddr(v as NameAddr)}\r\n`;
    case 'from':
      return `From: ${nameAddr(v as NameAddr)}\r\n`;
    case 'contact':
      return `Contact: ${v !== '*' && (v as NameAddr[]).length ? nameAddrs(v as NameAddr[]) : '*'}\r\n`;
    case 'route':
    case 'record-route':
    case 'path':
      return (v as NameAddr[]).length ? `${n === 'path' ? 'Path' : n === 'route' ? 'Route' : 'Record-Route'}: ${nameAddrs(v as NameAddr[])}\r\n` : '';
    case 'cseq': {
      const c = v as { seq: number; method: string };
      return `CSeq: ${c.seq} ${c.method}\r\n`;
    }
    case 'www-authenticate':
      return authLines('WWW-Authenticate', v as AuthHeader[]);
    case 'proxy-authenticate':
      return authLines('Proxy-Authenticate', v as AuthHeader[]);
    case 'authorization':
      return authLines('Authorization', v as AuthHeader[]);
    case 'proxy-authorization':
      return authLines('Proxy-Authorization', v as AuthHeader[]);
    case 'authentication-info':
      return `Authentication-Info: ${auth(v as AuthHeader)}\r\n`;
    case 'refer-to':
      return `Refer-To: ${nameAddr(v as NameAddr)}\r\n`;
    default:
      return `${pretty(n)}: ${v as string}\r\n`;
  }
}

/** Like the package's stringify, it sets the message's Content-Length to its content's. */
export function stringify(m: Message): string {
  let s = m.status
    ? `SIP/${m.version || '2.0'} ${m.status} ${m.reason}\r\n`
    : `${m.method} ${stringifyUri(m.uri as Uri | string)} SIP/${m.version || '2.0'}\r\n`;
  m.headers['content-length'] = (m.content || '').length;
  for (const n in m.headers) {
    const v = m.headers[n];
    if (v === undefined) continue;
    s += typeof v === 'string' ? `${pretty(n)}: ${v}\r\n` : header(n, v);
  }
  s += '\r\n';
  if (m.content) s += m.content;
  return s;
}
