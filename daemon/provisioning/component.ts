import fs from 'node:fs';
import https from 'node:https';
import type { Component, Runtime } from '../core/component';
import type { SipService } from '../sip/service';
import { deviceRoutes } from './api/routes';
import { RenderCache } from './cache';
import { DigestAuth } from './serve/digest';
import { FileService } from './serve/fetch';
import { FetchMetrics } from './serve/fetch-metrics';
import { expirePendingDevices } from './store/expire-pending';
import { PROV_PATH, provisioningHandler, provisioningLane, provisioningRoute } from './serve/http';
import { FailureLimiter } from './serve/limiter';
import { TftpFrontEnd } from './serve/tftp';
import { TimelineWriter } from './serve/timeline-writer';
import { directoryDependency } from './directory-source';
import { serverDefaults } from './settings-source';
import { TemplateRenderer } from './templates/render';
import { ImageStore } from '../firmware/image-store';
import { firmwareRoutes } from '../firmware/routes';

const PENDING_EXPIRY_EVERY_MS = 60 * 60 * 1000;
// A site powering up hundreds of new phones behind a few addresses is normal; thousands a minute from everywhere is a scan.
const NEW_DEVICES_GLOBAL_FACTOR = 20;
// An office behind one NAT booting together asks for a few unknown names per phone; one source inventing more than this is a scan.
const UNKNOWN_NAMES_PER_SOURCE_FACTOR = 20;

export interface ProvisioningComponent extends Component {
  files: FileService;
  cache: RenderCache;
  /** The device timeline, which the phone lifecycle writes registrations to. */
  timeline: TimelineWriter;
  /** The TFTP port actually bound (differs from the configured one when that was 0). */
  tftpPort(): number;
  httpsPort(): number | null;
}

/**
 * Phones' files over TFTP, HTTP and HTTPS, the devices API, and the render
 * cache, which drops a device's files whenever a record they came from changes.
 * Phones are given the registrar the SIP service reports; the component starts
 * after SIP so that address is the bound one.
 */
export function provisioningComponent(rt: Runtime, sip: Pick<SipService, 'registrarAddress'>): ProvisioningComponent {
  const server = serverDefaults(rt.config, () => sip.registrarAddress());
  const renderer = new TemplateRenderer();
  const cache = new RenderCache();
  const log = rt.log.child({ component: 'provisioning' });
  const timeline = new TimelineWriter(rt.db, log);
  const images = new ImageStore(rt.config.firmwareImagesDir);
  const limiter = new FailureLimiter(rt.config.provRateLimit);
  const scans = new FailureLimiter(rt.config.provRateLimit * UNKNOWN_NAMES_PER_SOURCE_FACTOR);
  const newDevices = new FailureLimiter(rt.config.provRateLimit * NEW_DEVICES_GLOBAL_FACTOR);
  const files = new FileService({
    knex: rt.db.knex, secrets: rt.secrets, log, server, firmwareDir: rt.config.firmwareDir, images,
    renderer, cache, limiter, scans, newDevices, digest: new DigestAuth(), timeline, metrics: new FetchMetrics(rt.metrics),
  });
  const httpLog = rt.log.child({ component: 'http' });
  const handler = provisioningHandler(files, httpLog);
  const lane = provisioningLane(files, httpLog);
  const tftp = new TftpFrontEnd(files, { host: rt.config.tftpHost, port: rt.config.tftpPort, allow: rt.config.tftpAllow, root: rt.config.firmwareDir }, rt.log.child({ component: 'tftp' }));
  rt.metrics.counterFrom('dialtone_tftp_transfers_total', 'TFTP transfers by how they ended: completed, failed (timed out or broken off), denied (source outside DIALTONE_TFTP_ALLOW).', ['result'], () =>
    Object.entries(tftp.transfers).map(([result, n]) => [[result], n] as const));
  // Subscribed from the start, not from start(): records change through the API whether or not phones are being served.
  // From every process: a phone may fetch here after its extension was changed through another node.
  let unsubscribe: (() => void) | null = rt.changes.subscribeEverywhere({
    change(change) {
      cache.invalidate(change.id);
      if (change.kind === 'device') files.forget(change.id);
      // Any profile, extension or tenant change may rename, add or remove a directory entry.
      if (change.kind === 'user' || change.kind === 'extension' || change.kind === 'tenant') cache.invalidate(directoryDependency(change.tenantId));
    },
    deaf() {
      cache.distrust();
      files.distrust();
    },
    hearing() {
      cache.trust();
      files.trust();
    },
  });
  let tls: https.Server | null = null;
  let app: Parameters<NonNullable<Component['http']>>[0] | null = null;
  let expiry: NodeJS.Timeout | null = null;
  const expirePending = async () => {
    try {
      const removed = await expirePendingDevices(rt.db.knex, rt.config.pendingDeviceDays);
      for (const id of removed) {
        files.forget(id);
        cache.invalidate(id);
      }
      if (removed.length > 0) log.info({ removed: removed.length, days: rt.config.pendingDeviceDays }, 'provisioning: removed pending devices that stopped asking');
    } catch (err) {
      log.warn({ err }, 'provisioning: removing stale pending devices failed');
    }
  };
  return {
    name: 'provisioning',
    files,
    timeline,
    cache,
    tftpPort: () => tftp.port(),
    httpsPort: () => {
      const a = tls?.address();
      return a && typeof a === 'object' ? a.port : null;
    },
    async http(fastify) {
      app = fastify;
      fastify.frontDoor.add(PROV_PATH, handler, lane);
      await fastify.register(provisioningRoute(handler));
      await fastify.register(deviceRoutes(rt, server, renderer, () => timeline.flush()), { prefix: '/api/v1' });
      await fastify.register(firmwareRoutes(rt, images, () => timeline.flush()), { prefix: '/api/v1' });
    },
    async start() {
      // Files fetched over HTTP while the SIP engine was still starting named the registrar it had not bound yet.
      cache.clear();
      await tftp.start();
      const c = rt.config;
      const told = { provisioningUrl: server.provisioningUrl, registrar: sip.registrarAddress(), activationDomain: c.activationDomain, tftp: `${c.publicHost}:${tftp.port()}` };
      if (/^(127\.|localhost$|::1$)/.test(c.publicHost)) {
        log.warn(told, 'phones will be told a loopback address, which only software on this machine can reach: set DIALTONE_PUBLIC_HOST');
      } else {
        log.info(told, 'phones will be told (DIALTONE_PUBLIC_HOST and the options in the README derive these)');
      }
      if (rt.config.pendingDeviceDays > 0) {
        // Once for all processes on this database: the lease lapses just before each process's next hourly turn.
        const turn = () => void rt.leases.oncePer('pending-device-expiry', PENDING_EXPIRY_EVERY_MS - 60_000, expirePending);
        turn();
        expiry = setInterval(turn, PENDING_EXPIRY_EVERY_MS).unref();
      }
      const { httpsPort, tlsCert, tlsKey } = rt.config;
      if (httpsPort !== null && tlsCert && tlsKey && app) {
        tls = https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) }, app.frontDoor.listener(app.routing.bind(app)));
        app.frontDoor.laneFor(tls, 'secureConnection');
        await new Promise<void>((resolve, reject) => {
          tls!.once('error', reject);
          tls!.listen(httpsPort, rt.config.httpHost, () => resolve());
        });
        rt.log.info({ port: httpsPort }, 'HTTPS listening (provisioning and admin API)');
      } else if (httpsPort !== null) {
        rt.log.warn('DIALTONE_HTTPS_PORT is set without DIALTONE_TLS_CERT and DIALTONE_TLS_KEY: no HTTPS listener');
      }
    },
    reload() {
      renderer.reload();
      cache.clear();
      limiter.setLimit(rt.config.provRateLimit);
      scans.setLimit(rt.config.provRateLimit * UNKNOWN_NAMES_PER_SOURCE_FACTOR);
      newDevices.setLimit(rt.config.provRateLimit * NEW_DEVICES_GLOBAL_FACTOR);
      const { tlsCert, tlsKey } = rt.config;
      // Read both before swapping, so a half-renewed pair leaves the old certificate serving.
      if (tls && tlsCert && tlsKey) tls.setSecureContext({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) });
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = null;
      if (expiry) clearInterval(expiry);
      expiry = null;
      await tftp.stop();
      await timeline.flush();
      if (tls) {
        const s = tls;
        tls = null;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
