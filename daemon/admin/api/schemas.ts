/** JSON schemas of the admin API: the OpenAPI document is built from these. */


export const address = {
  type: 'object',
  properties: {
    street: { type: 'string' }, city: { type: 'string' }, region: { type: ['string', 'null'] },
    postalCode: { type: 'string' }, country: { type: 'string', description: 'ISO 3166-1 alpha-2' },
  },
  required: ['street', 'city', 'postalCode', 'country'],
};

export const idParams = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] };

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, default: 0 },
  fields: { type: 'string', maxLength: 500, description: 'Comma-separated fields to return, e.g. id,username,email' },
};

export const siteBody = {
  type: 'object',
  properties: {
    tenantId: { type: 'string', description: 'Only with an operator token' },
    name: { type: 'string' }, address, timezone: { type: 'string', description: 'IANA zone' }, language: { type: 'string', default: 'en' },
  },
  required: ['name', 'address', 'timezone'],
};

export const userBody = {
  type: 'object',
  properties: {
    tenantId: { type: 'string', description: 'Only with an operator token' },
    firstName: { type: 'string' }, lastName: { type: 'string' }, email: { type: 'string', format: 'email' },
    username: { type: 'string', maxLength: 30, description: 'Defaults to the email; unique across all tenants, ignoring case' },
    siteId: { type: ['string', 'null'] }, jobTitle: { type: ['string', 'null'] }, department: { type: ['string', 'null'] },
    address: { ...address, type: ['object', 'null'] }, personalPhone: { type: ['string', 'null'] }, language: { type: ['string', 'null'] },
    directory: { type: 'boolean', description: "false: left out of the tenant's corporate directory on its phones" },
  },
  required: ['firstName', 'lastName', 'email'],
};

const forwardRule = {
  type: 'object',
  properties: {
    condition: { enum: ['always', 'busy', 'noAnswer', 'notRegistered', 'internetDown'] },
    destination: { type: 'string' }, enabled: { type: 'boolean' }, afterSeconds: { type: 'integer' },
  },
  required: ['condition', 'destination'],
};

export const extensionSettings = {
  callerId: { type: 'object', properties: { name: { type: ['string', 'null'] }, number: { type: ['string', 'null'] } } },
  voicemail: { type: 'object', properties: { enabled: { type: 'boolean' }, pin: { type: 'string', description: 'Write only: 6+ digits' }, email: { type: ['string', 'null'] } } },
  fax: { type: 'object', properties: { mode: { enum: ['disabled', 'attachment', 'link_and_attachment', 'link'] }, email: { type: ['string', 'null'] }, machine: { type: 'boolean', description: 'An analog fax machine is on this extension (an ATA port): its port gets fax-friendly settings' } } },
  forwarding: { type: 'array', items: forwardRule },
  musicOnHold: { type: 'string' },
  recording: { type: 'object', properties: { mode: { enum: ['off', 'on_demand', 'always'] }, announceToUser: { type: 'boolean' }, announceToCaller: { type: 'boolean' } } },
  externalCalling: { enum: ['internal', 'local', 'national', 'international'] },
  emergencyAddress: { ...address, type: ['object', 'null'] },
  codecs: { type: 'array', items: { enum: ['OPUS', 'G722', 'PCMU', 'PCMA', 'G729', 'G726-32', 'iLBC', 'GSM'] } },
  onlineAccess: { type: 'boolean' },
  keys: {
    type: 'array', description: "The phone's keys; a device's overrides.keys still wins",
    items: { type: 'object', properties: { index: { type: 'integer' }, type: { enum: ['line', 'blf', 'speed-dial', 'park'] }, value: { type: 'string' }, label: { type: 'string' }, module: { type: 'integer', description: '0: the phone; 1-6: an expansion module' } } },
  },
};

export const extensionBody = {
  type: 'object',
  properties: {
    tenantId: { type: 'string', description: 'Only with an operator token' },
    number: { type: 'string', pattern: '^[0-9]{2,10}$' },
    userId: { type: 'string' },
    place: { type: 'object', properties: { name: { type: 'string' }, username: { type: 'string' } }, description: 'Instead of userId: creates a profile for a lobby or conference room' },
    siteId: { type: ['string', 'null'] },
    ...extensionSettings,
  },
  required: ['number'],
};

export const pbxBody = {
  type: 'object',
  properties: {
    uri: { type: 'string', description: 'sip: or sips: URI with a host, an optional port and ;transport=udp|tcp|tls|ws' },
    kind: { enum: ['asterisk', 'freeswitch', 'other'], default: 'other' },
  },
  required: ['uri'],
};
