import { displayName } from '../../admin/domain/profile';
import type { Extension, User } from '../../admin/store/rows';

export interface DirectoryEntry {
  /** What the phone lists: the profile's name, or the extension's caller ID name for an extension without one. */
  name: string;
  firstName: string;
  lastName: string;
  /** The extension number to dial. */
  number: string;
}

/** A tenant's corporate directory, vendor-neutral: each vendor's template writes it in its own format. */
export interface Directory {
  title: string;
  entries: DirectoryEntry[];
}

export interface DirectorySource {
  tenantName: string;
  users: Pick<User, 'id' | 'firstName' | 'lastName' | 'status' | 'directory'>[];
  extensions: Pick<Extension, 'number' | 'userId' | 'settings'>[];
}

/** Phones show names on one line; a name is text, so control characters never reach a vendor's file. */
const oneLine = (s: string) => s.replace(/[\s\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();

const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/**
 * One entry per extension, as the seeds' Contact Directory lists user
 * profiles and the places (lobby, conference room) that have an extension.
 * A profile that opted out (`directory: false`) or is disabled is left out
 * with all its extensions; an extension without a profile is listed under
 * its caller ID name, or its number. Sorted by last name, first name and
 * number, so the same records always give the same file.
 */
export function buildDirectory(src: DirectorySource): Directory {
  const users = new Map(src.users.map((u) => [u.id, u]));
  const entries: DirectoryEntry[] = [];
  for (const ext of src.extensions) {
    const owner = ext.userId ? users.get(ext.userId) : undefined;
    if (owner && (!owner.directory || owner.status !== 'active')) continue;
    // The profile's name, not an extension's caller ID, which may be the company's (the seeds' clean-up note).
    const firstName = owner ? oneLine(owner.firstName) : '';
    const lastName = owner ? oneLine(owner.lastName) : oneLine(ext.settings.callerId.name ?? '');
    const name = oneLine(owner ? displayName(owner) : lastName) || ext.number;
    entries.push({ name, firstName, lastName, number: ext.number });
  }
  entries.sort((a, b) => collator.compare(a.lastName, b.lastName) || collator.compare(a.firstName, b.firstName) || collator.compare(a.number, b.number));
  return { title: oneLine(src.tenantName), entries };
}
