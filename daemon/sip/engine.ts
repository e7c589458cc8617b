import type { Message, NameAddr } from 'sip';

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

/** One branch of a relayed request. */
export interface ProxyTarget {
  /** The branch's Request-URI: a registered Contact, the PBX's URI, or the request's own. */
  uri: string;
  /** Where the branch is sent: a binding's flow, or the next hop's address. */
  flow: Flow;
  /** Route URIs put before the request's own (a binding's Path). */
  route?: string[];
  /** dialtone's Record-Route URIs, top first (two when the transports of the two sides differ, RFC 5658). */
  recordRoute?: string[];
}

/** What the router decided for a request to relay (RFC 3261 §16.6). */
export interface ProxyPlan {
  targets: ProxyTarget[];
  /** The request's Route headers with dialtone's own taken off. */
  route: NameAddr[];
  /** Headers set on every branch (P-Asserted-Identity, Geolocation…) and headers taken off (Proxy-Authorization). */
  set?: Record<string, unknown>;
  remove?: string[];
  /** A body replacing the request's (the emergency call's SDP with its location). */
  content?: string;
  /** Called once with the final status answered upstream. */
  done?(status: number): void;
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
  /**
   * Relays the request as a transaction-stateful proxy (RFC 3261 §16): in
   * parallel to every target, the best answer upstream, CANCEL passed on.
   * An ACK is relayed without a transaction.
   */
  proxy(req: IncomingRequest, plan: ProxyPlan): void;
  /** True when the request came round through dialtone unchanged (482 Loop Detected), not a spiral. */
  isLoop(req: IncomingRequest): boolean;
  /** Ends a dialog of ours with a BYE inside it; the callback sees the answer or a timeout. */
  endDialog(dialog: UasDialog, callback?: RequestCallback): void;
  /**
   * Transactions under way: requests handed over and not finally answered
   * yet (a relayed one until its answer has gone upstream), and requests
   * sent that wait for theirs. A drain waits for none to be left, since
   * stop() ends whatever is still under way.
   */
  pending(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound ports, for tests on port 0 and for the registrar address in credentials. */
  addresses(): Partial<Record<SipTransport, number>>;
}
