/**
 * The parts of drachtio-srf dialtone uses, typed as they behave: its bundled
 * declarations lack the per-verb handlers (`register`…), type `request` as
 * positional arguments, and leave out messages' raw text and source.
 */
export interface SrfMessage {
  raw?: string;
  toString(): string;
}

export interface SrfRequest {
  source_address: string;
  source_port: number;
  protocol: string;
  msg: SrfMessage;
  on(event: 'response', listener: (res?: SrfResponse) => void): void;
}

export interface SrfResponse {
  status: number;
  reason: string;
  msg: SrfMessage;
  send(status: number, reason: string, opts: { headers?: Record<string, string>; body?: string }): void;
}

export type SrfHandler = (req: SrfRequest, res: SrfResponse) => void;

export interface OutOfDialogRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send here instead of resolving the Request-URI: `sip:host:port;transport=tcp`. */
  proxy?: string;
}

export interface SrfClient {
  connect(opts: { host: string; port: number; secret: string }): unknown;
  disconnect(): void;
  register(handler: SrfHandler): unknown;
  options(handler: SrfHandler): unknown;
  subscribe(handler: SrfHandler): unknown;
  notify(handler: SrfHandler): unknown;
  invite(handler: SrfHandler): unknown;
  message(handler: SrfHandler): unknown;
  /** The callback form: the promise form can lose a response that arrives before it settles. */
  request(uri: string, opts: OutOfDialogRequest, callback: (err: Error | null, sent: SrfRequest) => void): unknown;
  on(event: 'connect', listener: (err: Error | null, hostport: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
