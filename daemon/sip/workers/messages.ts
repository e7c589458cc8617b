import type { Config } from '../../config/options';
import type { BindingEvent } from '../registrar/registrar';

/** What the daemon sends a registrar worker: the start, once, with the UDP socket as the handle; then, when the daemon drains, the drain. */
export type ToWorker =
  | { type: 'start'; config: Config; advertisedHost: string }
  | { type: 'drain'; retryAfterSeconds: number };

/** What a registrar worker tells the daemon. */
export type FromWorker =
  | { type: 'ready' }
  /** The drain was heard: from now on the worker answers new requests 503. */
  | { type: 'draining' }
  /** A datagram the worker does not answer, as it came off the socket. */
  | { type: 'datagram'; datagram: Buffer; address: string; port: number }
  | { type: 'event'; event: BindingEvent };
