import crypto from 'node:crypto';
import type { Address } from '../../admin/domain/address';

/**
 * An emergency call carries where the caller is: the extension's emergency
 * address (the site's unless the extension has its own) as a PIDF-LO civic
 * address (RFC 4119, with RFC 5491's device/geopriv shape and RFC 5139's
 * element names), next to the phone's SDP in a multipart body, pointed at by
 * a Geolocation header (RFC 6442).
 */

export interface CallerLocation {
  address: Address;
  /** The caller's extension number and tenant domain: the presentity of the document. */
  number: string;
  domain: string;
  /** xml:lang of the address text (the site's language); `en` when unknown. */
  language?: string | null;
  /** When the location was asserted; the call's time. */
  at: Date;
}

// Characters XML 1.0 cannot carry at all; a stored address should not hold them, a hostile one might.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlText(value: string): string {
  return value.replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * RFC 5139 keeps the house number (HNO) apart from the road (RD). The stored
 * street is one line, so a number at its start ("1 Main St") or end
 * ("Hauptstraße 5") is taken as the house number, and anything else stays
 * whole in RD rather than being guessed at.
 */
export function splitStreet(street: string): { hno: string | null; rd: string } {
  const s = street.trim();
  const leading = /^(\d{1,6}[A-Za-z]?)[,\s]+(\S.*)$/.exec(s);
  if (leading) return { hno: leading[1]!, rd: leading[2]! };
  const trailing = /^(.*\S)[,\s]+(\d{1,6}[A-Za-z]?)$/.exec(s);
  if (trailing) return { hno: trailing[2]!, rd: trailing[1]! };
  return { hno: null, rd: s };
}

const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

/** The PIDF-LO document for the caller's civic address. */
export function pidfLo(loc: CallerLocation): string {
  const a = loc.address;
  const { hno, rd } = splitStreet(a.street);
  const lang = loc.language && LANGUAGE.test(loc.language) ? loc.language : 'en';
  const el = (name: string, value: string | null) => (value ? `\n          <ca:${name}>${xmlText(value)}</ca:${name}>` : '');
  const entity = `pres:${loc.number}@${loc.domain}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
    entity="${xmlText(entity)}">
  <dm:device id="${xmlText(`ext-${loc.number}`)}">
    <gp:geopriv>
      <gp:location-info>
        <ca:civicAddress xml:lang="${xmlText(lang)}">${el('country', a.country)}${el('A1', a.region)}${el('A3', a.city)}${el('RD', rd)}${el('HNO', hno)}${el('PC', a.postalCode)}
        </ca:civicAddress>
      </gp:location-info>
      <gp:usage-rules/>
      <gp:method>Manual</gp:method>
    </gp:geopriv>
    <dm:deviceID>${xmlText(`tel:${loc.number}`)}</dm:deviceID>
    <dm:timestamp>${loc.at.toISOString()}</dm:timestamp>
  </dm:device>
</presence>
`;
}

export interface LocatedInvite {
  /** The INVITE's new Content-Type. */
  contentType: string;
  body: string;
  /** Headers to add to the INVITE. */
  headers: { Geolocation: string; 'Geolocation-Routing': 'no' };
}

/** A fresh random token; the caller of locateInvite may give its own source for tests. */
const randomToken = () => crypto.randomBytes(12).toString('hex');

/**
 * The emergency INVITE's body: the phone's SDP unchanged (when it sent one), then the PIDF-LO
 * with a Content-ID the Geolocation header points at. The boundary is drawn
 * until it occurs in neither part (RFC 2046 §5.1.1).
 */
export function locateInvite(sdp: string, loc: CallerLocation, token: () => string = randomToken): LocatedInvite {
  const pidf = pidfLo(loc);
  // The Content-ID goes into a header between angle brackets: only a plain host name may follow the @.
  const cid = `${token()}@${/^[A-Za-z0-9.-]{1,253}$/.test(loc.domain) ? loc.domain : 'dialtone.invalid'}`;
  let boundary = `dialtone-${token()}`;
  for (let i = 0; (sdp.includes(boundary) || pidf.includes(boundary)) && i < 16; i++) boundary = `dialtone-${token()}`;
  if (sdp.includes(boundary) || pidf.includes(boundary)) throw new Error('no multipart boundary found that the parts do not contain');
  // The CRLF before each delimiter belongs to the delimiter, so each part's bytes are exactly its own.
  // An INVITE without an offer (the phone offers in its ACK) gets no empty SDP part, which would read as one.
  const body = (sdp === '' ? '' : `--${boundary}\r\nContent-Type: application/sdp\r\n\r\n${sdp}\r\n`)
    + `--${boundary}\r\nContent-Type: application/pidf+xml\r\nContent-ID: <${cid}>\r\n\r\n${pidf}\r\n`
    + `--${boundary}--\r\n`;
  return {
    contentType: `multipart/mixed;boundary=${boundary}`,
    body,
    headers: { Geolocation: `<cid:${cid}>`, 'Geolocation-Routing': 'no' },
  };
}
