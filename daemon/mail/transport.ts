import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface Envelope {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

export interface MailTransport {
  /** Where mail goes, for the log: an SMTP host or the outbox folder. */
  describe: string;
  send(mail: Envelope): Promise<void>;
  close(): void;
}

export function smtpTransport(url: string): MailTransport {
  const t = nodemailer.createTransport(url);
  const u = new URL(url);
  return {
    describe: `${u.protocol}//${u.host}`,
    async send(mail) {
      await t.sendMail({ ...mail, messageId: `<${mail.messageId}>` });
    },
    close: () => t.close(),
  };
}

/**
 * Without SMTP every message becomes an .eml file a person can open in any
 * mail client. Written to a temporary name and renamed, so a reader never
 * sees half a message.
 */
export function outboxTransport(dir: string): MailTransport {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    describe: dir,
    async send(mail) {
      const info = await t.sendMail({ ...mail, messageId: `<${mail.messageId}>` });
      await fs.promises.mkdir(dir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.split('@')[0]}.eml`;
      const tmp = path.join(dir, `.${name}.tmp`);
      await fs.promises.writeFile(tmp, info.message as Buffer, { mode: 0o600 });
      await fs.promises.rename(tmp, path.join(dir, name));
    },
    close: () => undefined,
  };
}
