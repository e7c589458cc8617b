import { USERNAME_MAX } from '../admin/domain/profile';

/**
 * The seeds' automatic profiles: an extension imported without a profile
 * gets one named from its caller ID, with its voicemail-to-email address.
 * Pure: given the orphans and what exists, says what to create and which
 * results a person should look at again.
 */
export interface Orphan {
  id: string;
  number: string;
  callerIdName: string | null;
  voicemailEmail: string | null;
}

export interface PlannedProfile {
  firstName: string;
  lastName: string;
  email: string;
  username: string;
  extensionIds: string[];
  extensionNumbers: string[];
  /** Why this profile needs a second look; empty when it is likely right. */
  cleanUp: string[];
}

export interface AdoptionContext {
  companyName: string;
  primaryAdminEmail: string;
  /** Lower-cased usernames already taken anywhere. */
  takenUsernames: Set<string>;
  /** Lower-cased emails of profiles that already exist in the tenant. */
  existingEmails: Set<string>;
}

const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

function nameOf(o: Orphan, ctx: AdoptionContext, cleanUp: string[]): { firstName: string; lastName: string } {
  const name = (o.callerIdName ?? '').trim().replace(/\s+/g, ' ');
  if (name === '') {
    cleanUp.push('the extension has no caller ID name: the profile is named after the extension number');
    return { firstName: 'Extension', lastName: o.number };
  }
  const company = squash(ctx.companyName);
  if (company.length > 0 && (squash(name) === company || squash(name).includes(company))) {
    cleanUp.push('the caller ID is the company name, not a person: rename the profile');
  }
  const words = name.split(' ');
  if (words.length === 1) {
    cleanUp.push('the caller ID is one word: it is used as both first and last name');
    return { firstName: words[0]!, lastName: words[0]! };
  }
  return { firstName: words[0]!, lastName: words.slice(1).join(' ') };
}

function usernameFor(email: string, number: string, ctx: AdoptionContext, cleanUp: string[]): string {
  const fits = (u: string) => u.length <= USERNAME_MAX && /^[\p{L}\p{N} ._@+\-']+$/u.test(u) && !ctx.takenUsernames.has(u.toLowerCase());
  if (fits(email)) return email;
  const local = email.split('@')[0]!.replace(/[^\p{L}\p{N}._\-]/gu, '');
  for (const candidate of [`${local}.${number}`.slice(-USERNAME_MAX), `ext${number}.${local}`.slice(0, USERNAME_MAX)]) {
    if (fits(candidate)) {
      cleanUp.push(`the email could not be the username (too long or taken): the username is ${candidate}`);
      return candidate;
    }
  }
  let n = 2;
  while (!fits(`ext${number}-${n}`)) n++;
  cleanUp.push(`the username ext${number}-${n} was generated`);
  return `ext${number}-${n}`;
}

export function planAdoption(orphans: Orphan[], ctx: AdoptionContext): PlannedProfile[] {
  const byEmailAndName = new Map<string, PlannedProfile>();
  const byEmail = new Map<string, PlannedProfile[]>();
  const out: PlannedProfile[] = [];
  const taken = new Set(ctx.takenUsernames);
  const local: AdoptionContext = { ...ctx, takenUsernames: taken };
  for (const o of [...orphans].sort((a, b) => a.number.localeCompare(b.number))) {
    const cleanUp: string[] = [];
    const { firstName, lastName } = nameOf(o, local, cleanUp);
    let email = (o.voicemailEmail ?? '').trim();
    if (email === '') {
      email = ctx.primaryAdminEmail;
      cleanUp.push('the extension has no voicemail-to-email address: the primary administrator\'s email is used');
    }
    const key = `${email.toLowerCase()}|${firstName.toLowerCase()} ${lastName.toLowerCase()}`;
    const same = byEmailAndName.get(key);
    if (same && o.voicemailEmail) {
      // One person with several extensions gets one profile, as the seeds recommend.
      same.extensionIds.push(o.id);
      same.extensionNumbers.push(o.number);
      continue;
    }
    if (ctx.existingEmails.has(email.toLowerCase()) && o.voicemailEmail) cleanUp.push('a profile with this email already exists: if it is the same person, assign the extension to it and disable this one');
    const others = byEmail.get(email.toLowerCase()) ?? [];
    if (others.length > 0 && o.voicemailEmail) {
      const reason = `shares its email with extension ${others[0]!.extensionNumbers[0]} under another name`;
      cleanUp.push(reason);
      for (const p of others) if (!p.cleanUp.some((c) => c.startsWith('shares its email'))) p.cleanUp.push(`shares its email with extension ${o.number} under another name`);
    }
    const username = usernameFor(email, o.number, local, cleanUp);
    taken.add(username.toLowerCase());
    const planned: PlannedProfile = { firstName, lastName, email, username, extensionIds: [o.id], extensionNumbers: [o.number], cleanUp };
    byEmailAndName.set(key, planned);
    byEmail.set(email.toLowerCase(), [...others, planned]);
    out.push(planned);
  }
  return out;
}
