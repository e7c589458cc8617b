import type { Extension, Site, Tenant, User } from '../../daemon/admin/store/rows';
import { DEFAULT_SETTINGS } from '../../daemon/admin/domain/extension';
import type { BuildInput, ServerDefaults } from '../../daemon/provisioning/model/build';
import { type Directory, type DirectorySource, buildDirectory } from '../../daemon/provisioning/model/directory';

/** One device per family: a MAC with the vendor's prefix, a model, and the User-Agent that model sends. */
export const SAMPLE_DEVICES = {
  polycom: { mac: '0004f2a1b2c3', model: 'VVX 400', ua: 'FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application' },
  yealink: { mac: '0015654aa937', model: 'T46S', ua: 'Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37' },
  'cisco-spa': { mac: '001565000000', model: 'SPA504G', ua: 'Cisco/SPA504G-7.4.9c (001565000000)(CCQ162306EA)' },
  'cisco-mpp': { mac: '00562b043615', model: 'CP-7841-3PCC', ua: 'Cisco-CP-7841-3PCC/11.0.1 (00562b043615)' },
  grandstream: { mac: '000b828aa872', model: 'GXP2135', ua: 'Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b828aa872' },
  snom: { mac: '00041396d9b4', model: 'D785', ua: 'Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00001-gd311851f1 (Feb 25 2019 - 14:19:43) 00041396D9B4 SXM:0 UXM:0 UXMC:0)' },
  fanvil: { mac: '0c383e000001', model: 'X5U', ua: 'Fanvil X5U-V2 2.12.1 0c383e000001' },
} as const;

export const SERVER: ServerDefaults = {
  provisioningUrl: 'https://prov.example.net/prov', sipHost: 'sip.example.net', sipPort: 5060, ntpServers: ['ntp.example.net'],
  voicemailNumber: '*97', registrationServiceNumber: '*8000', activationDomain: 'activate.example.net',
  registrationExpiry: 3600,
};

const AT = '2026-01-01T00:00:00.000Z';

/** Records with hostile text where an administrator can type: escaping must hold in every vendor's grammar. */
export function sampleInput(mac: string, vendor: string, model: string, assigned: boolean): BuildInput {
  const tenant: Tenant = { id: 't1', name: 'Acme', sipDomain: 'acme.pbx.example.com', primaryAdminUserId: 'u0', createdAt: AT, updatedAt: AT };
  const site: Site = { id: 's1', tenantId: 't1', name: 'HQ', address: { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' }, timezone: 'America/Chicago', language: 'en', createdAt: AT, updatedAt: AT };
  const user: User = {
    id: 'u1', tenantId: 't1', firstName: 'Ada <&"\'>', lastName: 'Love\nlace = injected', email: 'ada@acme.example.com', username: 'ada', kind: 'person',
    jobTitle: null, department: null, address: null, personalPhone: null, language: 'fr', siteId: 's1', directory: true, status: 'active', isAdmin: false, disabledAt: null, createdAt: AT, updatedAt: AT,
  };
  const extension: Extension = {
    id: 'e1', tenantId: 't1', number: '1001', userId: 'u1', siteId: null, settings: { ...DEFAULT_SETTINGS, codecs: ['G722', 'PCMU', 'PCMA', 'OPUS'] },
    pinSealed: null, sipUsername: '1001xsecret', sipPasswordSealed: 'sealed', sipRotatedAt: AT, createdAt: AT, updatedAt: AT,
  };
  return {
    server: SERVER,
    device: { id: 'd1', mac, vendor, model, provUsername: `prov${mac}`, provPassword: 'PROVPASSWORD', activationUsername: `act${mac}abcd`, activationPassword: 'ACTIVATIONPASSWORD' },
    assignment: assigned ? { tenant, site, user, extension, sipUsername: '1001xsecret', sipPassword: 'EXTENSIONPASSWORD' } : null,
    // A rollout's target: every family's firmware parameters show in its golden file.
    firmware: { url: `${SERVER.provisioningUrl}/firmware/${mac.toLowerCase()}/2.0.1.5/image-2.0.1.5.bin`, version: '2.0.1.5', fileName: 'image-2.0.1.5.bin' },
    // One key of each type, and one on an expansion module: every family's key codes show in its golden file.
    overrides: {
      keys: [
        { index: 1, type: 'line', value: '1', label: 'Ada', module: 0 },
        { index: 2, type: 'blf', value: '1002', label: 'Bob & <Co>; sales', module: 0 },
        { index: 3, type: 'speed-dial', value: '+15551234', label: 'Front desk', module: 0 },
        { index: 4, type: 'park', value: '701', label: 'Park 1', module: 0 },
        { index: 1, type: 'blf', value: '1003', label: 'Carol', module: 1 },
      ],
      pickupPrefix: '*8',
    },
  };
}

type DirectoryUser = DirectorySource['users'][number];
const person = (id: string, firstName: string, lastName: string, more: Partial<DirectoryUser> = {}): DirectoryUser => ({ id, firstName, lastName, status: 'active', directory: true, ...more });
const ext = (number: string, userId: string | null, callerName: string | null = null): DirectorySource['extensions'][number] => ({
  number, userId, settings: { ...DEFAULT_SETTINGS, callerId: { name: callerName, number: null } },
});

/**
 * A tenant's records with what an administrator may type: XML metacharacters, a line break, letters beyond
 * ASCII, an extension for a place with no profile, a profile that opted out and one that is disabled.
 */
export function sampleDirectory(): Directory {
  return buildDirectory({
    tenantName: 'Acme & <Sons>',
    users: [
      person('u1', 'Ada <&"\'>', 'Love\nlace'),
      person('u2', 'Zoë', 'Ünïcode 山田'),
      person('u3', 'Hidden', 'Person', { directory: false }),
      person('u4', 'Gone', 'Away', { status: 'disabled' }),
      person('u5', 'Bob', 'Builder'),
    ],
    extensions: [ext('1001', 'u1'), ext('1002', 'u2'), ext('1003', 'u3'), ext('1004', 'u4'), ext('1005', 'u5'), ext('1006', 'u5'), ext('2000', null, 'Front & Lobby'), ext('2001', null)],
  });
}

/** An ATA with an extension on each listed port (port 1 is sampleInput's); `fax` ports have a fax machine. */
export function sampleAtaInput(mac: string, vendor: string, model: string, ports: { port: number; number: string; name: string; fax: boolean }[]): BuildInput {
  const input = sampleInput(mac, vendor, model, true);
  const first = ports.find((p) => p.port === 1);
  const a = input.assignment!;
  const extensionFor = (p: { number: string; fax: boolean }, id: string): Extension => ({
    ...a.extension, id, number: p.number, userId: null, settings: { ...a.extension.settings, callerId: { name: null, number: null }, fax: { mode: 'disabled', email: null, machine: p.fax } },
  });
  return {
    ...input,
    overrides: {},
    assignment: first ? { ...a, extension: { ...a.extension, settings: { ...a.extension.settings, fax: { mode: 'disabled', email: null, machine: first.fax } } } } : a,
    ports: ports.filter((p) => p.port > 1).map((p) => ({
      port: p.port, user: { ...a.user!, id: `u${p.port}`, firstName: p.name, lastName: '' }, extension: extensionFor(p, `e${p.port}`),
      sipUsername: `${p.number}xsecret`, sipPassword: `PORT${p.port}PASSWORD`,
    })),
  };
}
