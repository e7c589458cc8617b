import fs from 'node:fs';
import path from 'node:path';
import type { TestApp } from './app';
import type { AccountsComponent } from '../../daemon/accounts/component';

export function accounts(ta: TestApp): AccountsComponent {
  return ta.app.components.find((c) => c.name === 'accounts') as AccountsComponent;
}

/** Waits for welcome emails and audit entries triggered so far, then sends everything due. */
export async function flushMail(ta: TestApp): Promise<void> {
  await accounts(ta).idle();
  await accounts(ta).mail.drain();
}

/** Undoes quoted-printable soft breaks and escapes, enough to read links and text in an .eml file. */
export function decodeQuotedPrintable(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

export interface OutboxMessage {
  file: string;
  raw: string;
  to: string;
  subject: string;
  /** The whole message with quoted-printable undone. */
  text: string;
}

export function readOutbox(dataDir: string): OutboxMessage[] {
  const dir = path.join(dataDir, 'outbox');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => {
    const raw = fs.readFileSync(path.join(dir, f), 'utf8');
    const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim() ?? '';
    return { file: f, raw, to: header('To'), subject: header('Subject'), text: decodeQuotedPrintable(raw) };
  });
}

export function linkToken(text: string): string {
  const m = /\/account\/set-password\?token=([A-Za-z0-9%]+)/.exec(text);
  if (!m) throw new Error(`no set-password link in:\n${text}`);
  return decodeURIComponent(m[1]!);
}
