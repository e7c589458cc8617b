import { Problems } from '../../core/errors';
import { parsePbxUri } from '../../sip/proxy/pbx-uri';
import { oneOf, requireObject } from './fields';

export const PBX_KINDS = ['asterisk', 'freeswitch', 'other'] as const;
export type PbxKind = (typeof PBX_KINDS)[number];

export interface TenantPbxFields {
  uri: string;
  kind: PbxKind;
}

/** `{uri, kind?}` for a tenant's own PBX; the URI comes back in its normalised spelling. */
export function validateTenantPbx(input: unknown): TenantPbxFields {
  const body = requireObject(input);
  const p = new Problems();
  for (const key of Object.keys(body)) if (key !== 'uri' && key !== 'kind') p.add(key, 'is not a PBX field (uri, kind)');
  let uri: string | null = null;
  if (body.uri === undefined || body.uri === null) {
    p.add('uri', 'is required: the PBX\'s SIP URI such as sip:pbx.example.com:5060;transport=udp');
  } else {
    const parsed = parsePbxUri(body.uri);
    if (parsed.ok) uri = parsed.pbx.uri;
    else p.add('uri', parsed.reason);
  }
  const kind = body.kind === undefined ? 'other' : oneOf(p, 'kind', body.kind, PBX_KINDS);
  p.throwIfAny();
  return { uri: uri!, kind: kind! };
}
