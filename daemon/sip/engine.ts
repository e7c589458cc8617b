import type { Message } from 'sip';

/**
 * The small SIP interface dialtone's SIP logic is written against. An engine
 * (built-in, drachtio) owns transports and transactions; the registrar and
 * resync only see requests, answers and flows.
 */
export type SipTransport = 'udp' | 'tcp' | 'ws';

/** Where a message came from, and the connection to answer or reach it on. */
export interface Flow {
  transport: SipTransport;
  address: string;
  port: number;
  /** Stream transports: the connection the peer opened, so NAT'd phones are reached on it. */
  connectionId?: string;
}

export interface ReplyOptions {
  headers?: Record<string, unknown>;
  content?: string;
}

export interface IncomingRequest {
  message: Message;
  source: Flow;
  reply(status: number, reason: string, opts?: ReplyOptions): void;
}

export interface OutgoingRequest {
  method: string;
  uri: string;
  /** To, From, Call-ID, CSeq, Event…; Via is the engine's. */
  headers: Record<string, unknown>;
  content?: string;
  /** The flow to send on instead of resolving the URI: a registered contact's source. */
  flow: Flow;
}

export type RequestCallback = (err: Error | null, response?: Message) => void;

/** A server-side dialog for a request that creates one (INVITE, SUBSCRIBE). */
export interface UasDialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  remoteTarget: string;
  /** The From of the request that made the dialog (the remote party) and its To (us). */
  remoteUri: string;
  localUri: string;
  flow: Flow;
}

export interface SipEngine {
  readonly name: string;
  /**
   * One handler; each request gets one final answer through `reply`. ACKs are
   * handed over too (a dialog's ACK can carry the SDP answer); replying to
   * one does nothing.
   */
  onRequest(handler: (req: IncomingRequest) => void): void;
  /** Sends a request outside any dialog; the callback sees the final response or a timeout. */
  request(req: OutgoingRequest, callback: RequestCallback): void;
  /** Answers `req` with 2xx and a To tag, and returns the dialog state that later in-dialog requests use. */
  createUasDialog(req: IncomingRequest, status: number, reason: string, opts?: ReplyOptions): UasDialog;
  /** Ends a dialog of ours with a BYE inside it; the callback sees the answer or a timeout. */
  endDialog(dialog: UasDialog, callback?: RequestCallback): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound ports, for tests on port 0 and for the registrar address in credentials. */
  addresses(): Partial<Record<SipTransport, number>>;
}
