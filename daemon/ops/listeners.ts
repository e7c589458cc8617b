import dgram from 'node:dgram';
import net from 'node:net';
import type { Config } from '../config/options';

export interface PlannedListener {
  /** The option an operator changes to move this listener. */
  option: string;
  protocol: 'tcp' | 'udp';
  host: string;
  port: number;
}

/**
 * Every socket the daemon will listen on with this configuration, in the
 * order they open. Pure, so the plan is tested without binding anything.
 */
export function plannedListeners(config: Config): PlannedListener[] {
  const out: PlannedListener[] = [{ option: 'DIALTONE_HTTP_PORT', protocol: 'tcp', host: config.httpHost, port: config.httpPort }];
  if (config.metricsListen) out.push({ option: 'DIALTONE_METRICS_LISTEN', protocol: 'tcp', ...config.metricsListen });
  out.push({ option: 'DIALTONE_TFTP_PORT', protocol: 'udp', host: config.tftpHost, port: config.tftpPort });
  if (config.httpsPort !== null && config.tlsCert && config.tlsKey) {
    out.push({ option: 'DIALTONE_HTTPS_PORT', protocol: 'tcp', host: config.httpHost, port: config.httpsPort });
  }
  // drachtio-server owns the SIP ports with that engine; dialtone only connects to it.
  if (config.sipEngine === 'builtin') {
    for (const t of config.sipTransports) {
      if (t === 'ws') out.push({ option: 'DIALTONE_SIP_WS_PORT', protocol: 'tcp', host: config.sipHost, port: config.sipWsPort });
      else out.push({ option: 'DIALTONE_SIP_PORT', protocol: t, host: config.sipHost, port: config.sipPort });
    }
  }
  return out.filter((l) => l.port !== 0);
}

/** A listener that cannot open: its message is the one line the daemon prints before it stops. */
export class ListenError extends Error {}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process, or a second dialtone)',
  EACCES: 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE, see systemd/dialtone.service)',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
};

export function listenErrorFor(l: PlannedListener, err: unknown): ListenError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const where = l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
  return new ListenError(`${l.option}: cannot listen on ${where}/${l.protocol}: ${REASONS[code] ?? (code || String(err))}`);
}

function probe(l: PlannedListener): Promise<void> {
  return new Promise((resolve, reject) => {
    if (l.protocol === 'udp') {
      const s = dgram.createSocket(net.isIPv6(l.host) ? 'udp6' : 'udp4');
      s.once('error', (err) => {
        s.close();
        reject(err);
      });
      s.bind(l.port, l.host, () => s.close(() => resolve()));
    } else {
      const s = net.createServer();
      s.once('error', reject);
      s.listen({ port: l.port, host: l.host, exclusive: true }, () => s.close(() => resolve()));
    }
  });
}

/**
 * Binds and releases each planned address before any listener opens, so a
 * taken port or a missing capability stops the start with one line naming the
 * option, instead of a stack trace after half the listeners are serving.
 */
export async function checkListeners(listeners: PlannedListener[]): Promise<void> {
  for (const l of listeners) {
    try {
      await probe(l);
    } catch (err) {
      throw listenErrorFor(l, err);
    }
  }
}

/**
 * A bind failure raised by a component's own listener (a port taken between
 * the check and the bind), restated as the ListenError of its option.
 */
export function asListenError(listeners: PlannedListener[], err: unknown): ListenError | null {
  if (err instanceof ListenError) return err;
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (!e || !(e.code && e.code in REASONS) || typeof e.port !== 'number') return null;
  const protocol = e.syscall === 'bind' ? 'udp' : 'tcp';
  const l = listeners.find((x) => x.port === e.port && x.protocol === protocol) ?? listeners.find((x) => x.port === e.port);
  return l ? listenErrorFor(l, err) : null;
}
