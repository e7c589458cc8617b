/**
 * The daemon's HTTP API as an operator's script uses it, for the benches that
 * set dialtone up as deployed (bench/sip-register, bench/soak).
 */

/** One API call with an operator token; a CSV body is sent as text/csv, anything else as JSON. Throws on a non-2xx answer. */
export async function api(base: string, token: string, method: string, url: string, body?: string | object): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'text/csv' : 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * A tenant at `domain` and `count` people with extensions 10000 upwards, made
 * by a bulk upload (each person is welcomed by email); their extensions as the API lists them.
 */
export async function importPeople(base: string, token: string, domain: string, count: number): Promise<{ tenantId: string; imported: number; extensions: { id: string; number: string }[] }> {
  const { tenant } = await api(base, token, 'POST', '/tenants', { name: 'Bench', sipDomain: domain, admin: { firstName: 'Bench', lastName: 'Admin', email: 'admin@bench.example', username: 'bench.admin' } });
  const lines = ['First Name,Last Name,Email,Username,Extension'];
  for (let i = 0; i < count; i++) lines.push(`Person${i},Bench,person${i}@bench.example,p${i},${10000 + i}`);
  const imported = await api(base, token, 'POST', `/users/bulk?tenantId=${tenant.id}`, lines.join('\r\n'));
  const extensions: { id: string; number: string }[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api(base, token, 'GET', `/extensions?limit=500&offset=${offset}`);
    extensions.push(...page.items);
    if (extensions.length >= page.total) break;
  }
  return { tenantId: tenant.id, imported: imported.extensions, extensions };
}

/** Runs `work` on every item, `width` at a time. */
export async function eachConcurrently<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!, i);
  }));
}
