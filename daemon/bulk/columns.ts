/**
 * The columns of the bulk upload template. The basic template has the four
 * fields every profile needs; the advanced one adds the rest and says which
 * are required, as the seeds' Admin Console does.
 */
export interface Column {
  key: 'firstName' | 'lastName' | 'email' | 'username' | 'jobTitle' | 'department' | 'personalPhone' | 'language' | 'site' | 'extension' | 'onlineAccess' | 'directory';
  header: string;
  required: boolean;
  basic: boolean;
  hint: string;
}

export const COLUMNS: readonly Column[] = [
  { key: 'firstName', header: 'First Name', required: true, basic: true, hint: 'Ada' },
  { key: 'lastName', header: 'Last Name', required: true, basic: true, hint: 'Lovelace' },
  { key: 'email', header: 'Email', required: true, basic: true, hint: 'ada@example.com' },
  { key: 'username', header: 'Username', required: false, basic: true, hint: 'empty: the email (at most 30 characters)' },
  { key: 'jobTitle', header: 'Job Title', required: false, basic: false, hint: 'Engineer' },
  { key: 'department', header: 'Department', required: false, basic: false, hint: 'Research' },
  { key: 'personalPhone', header: 'Personal Phone', required: false, basic: false, hint: '+44 20 7946 0000' },
  { key: 'language', header: 'Language', required: false, basic: false, hint: 'en or en-GB' },
  { key: 'site', header: 'Site', required: false, basic: false, hint: 'the name of an existing site' },
  { key: 'extension', header: 'Extension', required: false, basic: false, hint: '2 to 10 digits: creates the extension for this profile' },
  { key: 'onlineAccess', header: 'Online Access', required: false, basic: false, hint: 'yes or no (default yes); no: the welcome email has no password link' },
  { key: 'directory', header: 'Directory', required: false, basic: false, hint: "yes or no (default yes); no: left out of the corporate directory on the tenant's phones" },
];

/** "First Name (required)", "first_name", "FirstName*" all name the same column. */
export function normalizeHeader(h: string): string {
  return h.toLowerCase().replace(/\((required|optional)\)/g, '').replace(/[^a-z0-9]/g, '');
}

const BY_HEADER = new Map(COLUMNS.flatMap((c) => [[normalizeHeader(c.header), c], [normalizeHeader(c.key), c]]));

export function columnFor(header: string): Column | undefined {
  return BY_HEADER.get(normalizeHeader(header));
}

export function templateRows(kind: 'basic' | 'advanced'): string[][] {
  const cols = COLUMNS.filter((c) => kind === 'advanced' || c.basic);
  if (kind === 'basic') return [cols.map((c) => c.header)];
  return [cols.map((c) => `${c.header} (${c.required ? 'required' : 'optional'})`)];
}
