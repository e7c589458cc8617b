/** The parts of the `sip` package (kirm/sip.js) dialtone uses: its parser and serializer. */
declare module 'sip' {
  export interface Uri {
    schema: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers: Record<string, string>;
  }
  export interface Via {
    version?: string;
    protocol: string;
    host: string;
    port?: number;
    params: Record<string, string | number | null>;
  }
  export interface NameAddr {
    name?: string;
    uri: string;
    params: Record<string, string | null>;
  }
  export interface CSeq {
    seq: number;
    method: string;
  }
  /** Values keep their quotes, as on the wire. */
  export interface AuthHeader {
    scheme: string;
    [param: string]: string | undefined;
  }
  export interface Headers {
    via?: Via[];
    to?: NameAddr;
    from?: NameAddr;
    'call-id'?: string;
    cseq?: CSeq;
    contact?: NameAddr[] | '*';
    path?: NameAddr[];
    'content-length'?: number;
    authorization?: AuthHeader[];
    'www-authenticate'?: AuthHeader[];
    [name: string]: unknown;
  }
  export interface Message {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    version?: string;
    headers: Headers;
    content?: string;
  }
  export function parse(s: string | Buffer): Message | undefined;
  /** A response to `req` with its Via, From, To, Call-ID and CSeq. */
  export function makeResponse(req: Message, status: number, reason: string): Message;
  export function stringify(m: Message): string;
  export function parseUri(s: string): Uri | undefined;
  export function stringifyUri(u: Uri | string): string;
  export function generateBranch(): string;
}
