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
  method: string;
  source_address: string;
  source_port: number;
  protocol: string;
  /** The drachtio-server address and port the request arrived on, `host:port`. */
  receivedOn?: string;
  /** drachtio-server's id of the dialog a request belongs to, when it belongs to one. */
  stackDialogId?: string;
  msg: SrfMessage;
  on(event: 'response', listener: (res?: SrfResponse) => void): void;
  /** drachtio-server relays it as a stateful proxy; the callback sees the final status. */
  proxy(opts: ProxyOptions, callback: (err: Error | string | null, results?: { finalStatus?: number }) => void): unknown;
}

export interface ProxyOptions {
  /** Where each branch is sent (drachtio-server keeps the Request-URI unless it names drachtio-server). */
  destination: string[];
  recordRoute: boolean;
  forking: 'simultaneous';
  /** Added to every branch: drachtio-server cannot take a header off or replace the body. */
  headers: Record<string, string>;
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
  /** Send inside this drachtio-server dialog instead. */
  stackDialogId?: string;
}

/** The dialog drachtio-srf makes of an answered INVITE; its id is drachtio-server's. */
export interface SrfDialog {
  id: string;
  destroy(): void;
  on(event: 'destroy', listener: () => void): unknown;
  /** A re-INVITE or another request inside the dialog, with drachtio-srf's request and response: listened to, drachtio-srf no longer answers it 200 itself. */
  on(event: 'modify' | 'info' | 'refer' | 'notify' | 'update' | 'message' | 'options', listener: (req: SrfInDialogRequest, res: SrfResponse) => void): unknown;
  /** A re-INVITE with this SDP; resolves with the other side's. */
  modify(sdp: string): Promise<string>;
  request(opts: { method: string; headers?: Record<string, string>; body?: string }, callback: (err: Error | null, res?: SrfInDialogResponse) => void): unknown;
}

export interface SrfInDialogRequest {
  method: string;
  body?: string;
  get(name: string): string | undefined;
}

export interface SrfInDialogResponse {
  status: number;
  reason: string;
  body?: string;
  get(name: string): string | undefined;
}

export interface B2buaOptions {
  /** The B leg's next hop, `sip:host:port;transport=udp`. */
  proxy: string;
  headers: Record<string, string>;
  localSdpB: string;
}

export interface UasOptions {
  headers?: Record<string, string>;
  localSdp?: string;
}

/** The admin connection under drachtio-srf, reached to close it for good. */
export interface SrfWire {
  closing?: boolean;
  /** The socket of a reconnection under way. */
  socket?: SrfSocket;
  reconnectVars?: { retryTimer?: NodeJS.Timeout | null };
}

export interface SrfSocket {
  end(): void;
  destroy(): void;
}

export interface SrfClient {
  connect(opts: { host: string; port: number; secret: string; reconnect?: { retryMaxDelay?: number } }): unknown;
  register(handler: SrfHandler): unknown;
  options(handler: SrfHandler): unknown;
  subscribe(handler: SrfHandler): unknown;
  notify(handler: SrfHandler): unknown;
  invite(handler: SrfHandler): unknown;
  message(handler: SrfHandler): unknown;
  /** Every request no verb handler took: requests inside dialogs and their ACKs. */
  use(handler: SrfHandler): unknown;
  createUAS(req: SrfRequest, res: SrfResponse, opts: UasOptions, callback: (err: Error | null, dialog?: SrfDialog) => void): unknown;
  removeDialog(dialog: SrfDialog): void;
  /** A new INVITE to `uri`, its answers relayed to the A leg; the promise has both dialogs once B answers 2xx. */
  createB2BUA(req: SrfRequest, res: SrfResponse, uri: string, opts: B2buaOptions): Promise<{ uas: SrfDialog; uac: SrfDialog }>;
  /** The callback form: the promise form can lose a response that arrives before it settles. */
  request(uri: string, opts: OutOfDialogRequest, callback: (err: Error | null, sent: SrfRequest) => void): unknown;
  on(event: 'connect', listener: (err: Error | null, hostport: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  app: { client?: { wp?: SrfWire; mapServer?: Map<SrfSocket, unknown> } };
}
