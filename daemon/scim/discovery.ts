import { CORE_USER } from './filter';
import { ENTERPRISE_USER } from './query';

/** The discovery documents of RFC 7644 §4 and the schemas of RFC 7643 §7–8, describing what dialtone stores. */
export const MAX_RESULTS = 500;

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: `${baseUrl}/api/docs`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: false },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A per-tenant SCIM token from POST /api/v1/scim-tokens', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/scim/v2/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string) {
  return [{
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: 'User', name: 'User', endpoint: '/Users',
    description: 'A dialtone user profile. DELETE disables the profile and hides it from SCIM; profiles are never deleted.',
    schema: CORE_USER,
    schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }],
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/scim/v2/ResourceTypes/User` },
  }];
}

const attr = (name: string, o: { type?: string; required?: boolean; mutability?: string; uniqueness?: string; multiValued?: boolean; caseExact?: boolean; description: string; subAttributes?: unknown[] }) => ({
  name, type: o.type ?? 'string', multiValued: o.multiValued ?? false, description: o.description, required: o.required ?? false,
  caseExact: o.caseExact ?? false, mutability: o.mutability ?? 'readWrite', returned: 'default', uniqueness: o.uniqueness ?? 'none',
  ...(o.subAttributes ? { subAttributes: o.subAttributes } : {}),
});

export function schemas(baseUrl: string) {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id: CORE_USER, name: 'User', description: 'User profile',
      attributes: [
        attr('userName', { required: true, uniqueness: 'global', description: 'At most 30 characters, unique across every tenant ignoring case' }),
        attr('name', {
          type: 'complex', required: true, description: 'First and last name, both required',
          subAttributes: [attr('givenName', { required: true, description: 'First name' }), attr('familyName', { required: true, description: 'Last name' }), attr('formatted', { mutability: 'readOnly', description: 'givenName familyName' })],
        }),
        attr('displayName', { mutability: 'readOnly', description: 'givenName familyName' }),
        attr('emails', {
          type: 'complex', multiValued: true, required: true, description: 'One work address: the primary (or first) value given is kept',
          subAttributes: [attr('value', { required: true, description: 'Email address' }), attr('type', { description: 'Always work' }), attr('primary', { type: 'boolean', description: 'Always true' })],
        }),
        attr('title', { description: 'Job title' }),
        attr('preferredLanguage', { description: 'Language tag such as en or en-US' }),
        attr('phoneNumbers', { type: 'complex', multiValued: true, description: 'One personal contact number', subAttributes: [attr('value', { description: 'Phone number' })] }),
        attr('active', { type: 'boolean', description: 'false disables the profile: its extensions go to the primary administrator' }),
        attr('externalId', { caseExact: true, description: 'The identity provider\'s id' }),
      ],
      meta: { resourceType: 'Schema', location: `${baseUrl}/scim/v2/Schemas/${CORE_USER}` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id: ENTERPRISE_USER, name: 'EnterpriseUser', description: 'Enterprise user (department only)',
      attributes: [attr('department', { description: 'Department' })],
      meta: { resourceType: 'Schema', location: `${baseUrl}/scim/v2/Schemas/${ENTERPRISE_USER}` },
    },
  ];
}
