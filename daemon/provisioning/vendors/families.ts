import type { ModelSpec, VendorFamily } from './types';

/**
 * The vendor families dialtone provisions, as data. Facts and their sources
 * are in ../shared/vendors/VENDORS.md; where sources disagree the choice made
 * here is noted beside it.
 */

const MAC = '(?<mac>[0-9a-f]{12})';
const XML = 'application/xml';
const TEXT = 'text/plain';

const named = (...names: string[]): ModelSpec[] => names.map((name) => ({ name }));

/** Cisco MPP models are named CP-7841-3PCC; operators also type 7841 or CP-7841. */
const mpp = (...numbers: string[]): ModelSpec[] => numbers.map((n) => ({ name: `CP-${n}-3PCC`, aliases: [n, `CP-${n}`] }));

// Yealink's common file is y0000000000XX.cfg, XX the first field of the model's firmware version (FusionPBX templates).
const yealink = (pairs: Record<string, string>): ModelSpec[] => Object.entries(pairs).map(([name, tag]) => ({ name, tag }));

export const FAMILIES: readonly VendorFamily[] = [
  {
    id: 'polycom', name: 'Polycom/Poly UC',
    subPaths: ['polycom', 'poly'],
    models: [
      ...named('VVX 150', 'VVX 250', 'VVX 300', 'VVX 310', 'VVX 350', 'VVX 400', 'VVX 410', 'VVX 450', 'VVX 500', 'VVX 501', 'VVX 600', 'VVX 601', 'VVX 1500'),
      ...named('Edge E100', 'Edge E220', 'Edge E300', 'Edge E350', 'Edge E400', 'Edge E450', 'Edge E500', 'Edge E550'),
      { name: 'SoundPoint IP 450', aliases: ['IP450', 'SPIP450'] },
    ],
    ouis: ['0004f2', '64167f', '482567'],
    // No MAC in the User-Agent: Polycom phones name it only in the path.
    userAgent: /^FileTransport Polycom\w+-(?<model>\w*?)-UA\/(?<version>[\d.]+)/i,
    files: [
      { pattern: /^0{12}\.cfg$/i, example: '000000000000.cfg', template: 'master.cfg', perDevice: false, format: 'xml', contentType: XML },
      // Some firmware asks for <mac>.cfg before the master file (inferred, not confirmed): the same master answers.
      { pattern: new RegExp(`^${MAC}\\.cfg$`, 'i'), example: '{mac}.cfg', template: 'master.cfg', perDevice: false, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^${MAC}-user\\.cfg$`, 'i'), example: '{mac}-user.cfg', template: 'user.cfg', perDevice: true, format: 'xml', contentType: XML },
      // The phone asks for its own contact directory on its own (Poly UC guide; F polycom/5.x): the corporate directory answers.
      { pattern: new RegExp(`^(?!0{12})${MAC}-directory\\.xml$`, 'i'), example: '{mac}-directory.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [/^[0-9a-f]{12}-(phone|license)\.cfg$/i, /^0{12}-directory\.xml$/i, /^[0-9a-f]{12}-(boot|app)\.log$/i, /^(sip|update)\.ld$/i],
    resync: { config: 'check-sync', reboot: 'check-sync' },
    timezone: 'polycom',
    keys: { types: { blf: { code: 'normal' }, park: { code: 'automata' } }, modules: 3 },
    // Polycom UC names from FusionPBX's 5.x templates; Opus has no name either source confirms, so it is left out.
    codecNames: { G722: 'G722', PCMU: 'G711_Mu', PCMA: 'G711_A', G729: 'G729_AB', iLBC: 'iLBC.13_33kbps' },
  },
  {
    id: 'yealink', name: 'Yealink T4x/T5x',
    subPaths: ['yealink'],
    models: yealink({
      T19P: '53', T21P: '52', T23G: '44', T27G: '69', T27P: '45', T29G: '46', T40G: '76', T40P: '54', T41P: '36', T41S: '68',
      T42G: '29', T42S: '67', T46G: '28', T46S: '66', T48G: '35', T48S: '65', T49G: '51', T52S: '74', T53: '95', T53W: '95',
      T54S: '70', T54W: '96', T56A: '56', T57W: '97', T58A: '58', T58V: '58',
    }),
    ouis: ['001565', 'e434d7', '805ec0', '805e0c', '249ad8', '44dbd2', '644f56', 'ec1da9'],
    userAgent: /^Yealink SIP-(?<model>[\w-]+?)(?:_E2)?\s+(?<version>[\d.]+)\s+(?<mac>[0-9a-f]{2}(?::?[0-9a-f]{2}){5})\b/i,
    files: [
      { pattern: /^y0{10}(?<tag>\d\d)\.cfg$/i, example: 'y0000000000{tag}.cfg', template: 'common.cfg', perDevice: false, format: 'lines', contentType: TEXT },
      { pattern: /^y0{12}\.boot$/i, example: 'y000000000000.boot', template: 'common.boot', perDevice: false, format: 'lines', contentType: TEXT },
      { pattern: new RegExp(`^${MAC}\\.cfg$`, 'i'), example: '{mac}.cfg', template: 'mac.cfg', perDevice: true, format: 'lines', contentType: TEXT },
      // Names the MAC but carries nothing of the device: the .cfg it includes is what creates and provisions it.
      { pattern: new RegExp(`^${MAC}\\.boot$`, 'i'), example: '{mac}.boot', template: 'mac.boot', perDevice: false, format: 'lines', contentType: TEXT },
      { pattern: new RegExp(`^directory-${MAC}\\.xml$`, 'i'), example: 'directory-{mac}.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [/^[0-9a-f]{12}-(local|contact)\.(cfg|xml)$/i, /\.rom$/i],
    // FusionPBX's events; Wazo sends a plain check-sync, which Yealink reads as reboot=false.
    resync: { config: 'check-sync;reboot=false', reboot: 'check-sync;reboot=true' },
    timezone: 'yealink',
    keys: { types: { line: { code: '15' }, blf: { code: '16' }, 'speed-dial': { code: '13' }, park: { code: '10' } }, modules: 6 },
    codecNames: { OPUS: 'opus', G722: 'g722', PCMU: 'pcmu', PCMA: 'pcma', G729: 'g729', iLBC: 'ilbc', 'G726-32': 'g726_32' },
    lineGrammar: /^(#!version:[\d.]+|#.*|[a-z0-9_.]+ = [^\r\n]*|include:config <[^<>\s]+>|)$/,
  },
  {
    id: 'cisco-spa', name: 'Cisco SPA5xx and SPA112/122',
    subPaths: ['cisco-spa', 'linksys'],
    models: [...named('SPA301', 'SPA303', 'SPA501G', 'SPA502G', 'SPA504G', 'SPA508G', 'SPA509G', 'SPA512G', 'SPA514G', 'SPA525G', 'SPA525G2'), { name: 'SPA112', ports: 2 }, { name: 'SPA122', ports: 2 }],
    ouis: [],
    userAgent: /^(?:Cisco|Linksys)\/(?<model>SPA-?\d+[A-Z0-9]*)-(?<version>\S+)(?:\s+\((?<mac>[0-9a-f]{12})\))?/i,
    files: [
      // The factory Profile_Rule is /spa$PSN.cfg over TFTP (Cisco SPA100 admin guide).
      { pattern: /^spa(?<model>\d{3}[a-z0-9]*)\.cfg$/i, example: '{model}.cfg', template: 'spa.cfg', perDevice: false, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^${MAC}\\.xml$`, 'i'), example: '{mac}.xml', template: 'mac.xml', perDevice: true, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^directory-${MAC}\\.xml$`, 'i'), example: 'directory-{mac}.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [],
    // Sources conflict (VENDORS.md): Asterisk's sipura-check-cfg sends resync, Endpoint Manager reboot.
    resync: { config: 'resync', reboot: 'reboot' },
    timezone: 'cisco',
    keys: { types: { line: { code: 'line' }, blf: { code: 'blf+sd+cp' }, 'speed-dial': { code: 'sd' }, park: { code: 'prk' } }, modules: 2 },
    codecNames: { G722: 'G722', PCMU: 'G711u', PCMA: 'G711a', G729: 'G729a', 'G726-32': 'G726-32' },
  },
  {
    id: 'cisco-mpp', name: 'Cisco MPP 3PCC (68xx/78xx/88xx)',
    subPaths: ['cisco', 'cisco-mpp'],
    models: mpp('6821', '6841', '6851', '6861', '6871', '7811', '7821', '7832', '7841', '7861', '8811', '8832', '8841', '8845', '8851', '8861', '8865'),
    ouis: ['00562b'],
    userAgent: /^Cisco-(?<model>CP-\d{4}-3PCC)\/(?<version>[\d.]+)\s+\((?<mac>[0-9a-f]{12})\)/i,
    files: [
      { pattern: /^(?<model>CP-\d{4}-3PCC)\.xml$/i, example: '{model}.xml', template: 'model.xml', perDevice: false, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^${MAC}\\.xml$`, 'i'), example: '{mac}.xml', template: 'mac.xml', perDevice: true, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^(?<model>CP-\\d{4}-3PCC)/${MAC}\\.cfg$`, 'i'), example: '{model}/{mac}.cfg', template: 'mac.xml', perDevice: true, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^directory-${MAC}\\.xml$`, 'i'), example: 'directory-{mac}.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [],
    // Wazo sends check-sync for firmware 11 and 12; the reboot form is not confirmed by any source, so it is the same.
    resync: { config: 'check-sync', reboot: 'check-sync' },
    timezone: 'cisco',
    keys: { types: { line: { code: 'line' }, blf: { code: 'blf+sd+cp' }, 'speed-dial': { code: 'sd' }, park: { code: 'prk' } }, modules: 3 },
    codecNames: { OPUS: 'OPUS', G722: 'G722', PCMU: 'G711u', PCMA: 'G711a', G729: 'G729a', iLBC: 'iLBC' },
  },
  {
    id: 'grandstream', name: 'Grandstream GXP/GRP and HT8xx',
    subPaths: ['grandstream'],
    models: [...named(
      'GXP1610', 'GXP1615', 'GXP1620', 'GXP1625', 'GXP1628', 'GXP1630', 'GXP2130', 'GXP2135', 'GXP2140', 'GXP2160', 'GXP2170',
      'GRP2601', 'GRP2602', 'GRP2612', 'GRP2613', 'GRP2614', 'GRP2615', 'GRP2616',
    ),
    // HT802's port 2 is a second account (P401, P7xx: F ht802); HT81x ports are rows P4060+i… on profile 1 or 2 (F ht814, ht818).
    { name: 'HT801', ports: 1 }, { name: 'HT802', ports: 2 },
    { name: 'HT812', ports: 2, portLayout: 'table' }, { name: 'HT814', ports: 4, portLayout: 'table' }, { name: 'HT818', ports: 8, portLayout: 'table' }],
    ouis: ['000b82', 'c074ad', 'ec74d7'],
    userAgent: /^Grandstream Model HW (?<model>[A-Z]+\d+\w*)\b(?:.*?\bSW (?<version>[\d.]+))?.*?\bDevId (?<mac>[0-9a-f]{12})\b/i,
    files: [
      { pattern: new RegExp(`^cfg${MAC}\\.xml$`, 'i'), example: 'cfg{mac}.xml', template: 'cfg.xml', perDevice: true, format: 'xml', contentType: XML },
      // P331 names a folder; the phone appends phonebook.xml (older GXP firmware gs_phonebook.xml), so the folder is the MAC.
      { pattern: new RegExp(`^${MAC}/(?:gs_)?phonebook\\.xml$`, 'i'), example: '{mac}/phonebook.xml', template: 'phonebook.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    // The legacy cfg<mac> is a binary format dialtone does not write.
    ignored: [/^cfg[0-9a-f]{12}$/i, /^cfg\.xml$/i],
    // FusionPBX PR #3014, "per Grandstream support".
    resync: { config: 'resync', reboot: 'check-sync;reboot=true' },
    timezone: 'posix',
    keys: { types: { line: { code: '0' }, 'speed-dial': { code: '10' }, blf: { code: '11' }, park: { code: '19' } }, modules: 0 },
    codecNames: { PCMU: '0', PCMA: '8', G722: '9', G729: '18', 'G726-32': '2', iLBC: '98', OPUS: '123' },
  },
  {
    id: 'snom', name: 'Snom D7xx',
    subPaths: ['snom'],
    models: named('D120', 'D305', 'D315', 'D345', 'D375', 'D385', 'D710', 'D712', 'D713', 'D715', 'D717', 'D725', 'D735', 'D745', 'D765', 'D785'),
    ouis: ['000413'],
    userAgent: /\bsnom(?<model>D\d+\w*?)-SIP\s(?<version>[\d.]+).*?\b(?<mac>[0-9a-f]{12})\b/i,
    files: [
      { pattern: /^snom(?<model>D\d{3}\w*)\.htm$/i, example: 'snom{model}.htm', template: 'model.htm', perDevice: false, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^snom(?<model>D\\d{3}\\w*?)-${MAC}\\.htm$`, 'i'), example: 'snom{model}-{MAC}.htm', template: 'settings.xml', perDevice: true, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^${MAC}\\.xml$`, 'i'), example: '{MAC}.xml', template: 'settings.xml', perDevice: true, format: 'xml', contentType: XML },
      { pattern: new RegExp(`^directory-${MAC}\\.xml$`, 'i'), example: 'directory-{mac}.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [],
    resync: { config: 'check-sync;reboot=false', reboot: 'check-sync;reboot=true' },
    timezone: 'snom',
    keys: { types: { line: { code: 'line' }, blf: { code: 'blf' }, 'speed-dial': { code: 'speed' }, park: { code: 'orbit' } }, modules: 0 },
    codecNames: { OPUS: 'opus', G722: 'g722', PCMU: 'pcmu', PCMA: 'pcma', G729: 'g729', 'G726-32': 'g726-32', GSM: 'gsm' },
  },
  {
    id: 'fanvil', name: 'Fanvil X-series',
    subPaths: ['fanvil'],
    models: named('X1S', 'X1SP', 'X3S', 'X3SP', 'X3U', 'X4U', 'X5S', 'X5U', 'X6', 'X6U', 'X7', 'X7C', 'X210', 'X301', 'X303'),
    ouis: ['00a859', '0c383e'],
    userAgent: /^Fanvil (?<model>X\w+?)(?:-V\d+)?\s+(?<version>[\d.]+)\s+(?<mac>[0-9a-f]{12})\b/i,
    files: [
      { pattern: /^f0C0(?<tag>[0-9a-z]{7})\.cfg$/i, example: 'f0C00580000.cfg', template: 'common.cfg', perDevice: false, format: 'lines', contentType: TEXT },
      { pattern: new RegExp(`^${MAC}\\.cfg$`, 'i'), example: '{mac}.cfg', template: 'mac.cfg', perDevice: true, format: 'lines', contentType: TEXT },
      { pattern: new RegExp(`^directory-${MAC}\\.xml$`, 'i'), example: 'directory-{mac}.xml', template: 'directory.xml', perDevice: true, directory: true, format: 'xml', contentType: XML },
    ],
    ignored: [],
    resync: { config: 'check-sync', reboot: 'check-sync;reboot=true' },
    timezone: 'fanvil',
    keys: { types: { line: { code: '2' }, blf: { code: '1', suffix: '/ba' }, 'speed-dial': { code: '1', suffix: '/f' }, park: { code: '1', suffix: '/c' } }, modules: 0 },
    codecNames: { PCMU: 'PCMU', PCMA: 'PCMA', G722: 'G722', G729: 'G729', OPUS: 'OPUS', iLBC: 'iLBC', 'G726-32': 'G726-32' },
    lineGrammar: /^(<<VOIP CONFIG FILE>>Version:[\d.]+|<<END OF FILE>>|<[A-Z ]+ MODULE>|--[A-Za-z ]+--\s*:|[A-Za-z0-9 ]+?\s*:[^\r\n]*|)$/,
  },
];

export function familyById(id: string): VendorFamily | null {
  return FAMILIES.find((f) => f.id === id) ?? null;
}
