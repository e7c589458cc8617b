import type { Config } from '../../config/options';
import type { BindingEvent } from '../registrar/registrar';

/** What the daemon sends a registrar worker, once, with the UDP socket as the handle. */
export type ToWorker = { type: 'start'; config: Config; advertisedHost: string };

/** What a registrar worker tells the daemon. */
export type FromWorker =
  | { type: 'ready' }
  /** A datagram the worker does not answer, as it came off the socket. */
  | { type: 'datagram'; datagram: Buffer; address: string; port: number }
  | { type: 'event'; event: BindingEvent };
