import fs from 'node:fs';
import path from 'node:path';
import { Eta, type TemplateFunction } from 'eta';

/**
 * Mail bodies, from Eta templates. An operator changes one by putting a file
 * of the same name (for example `welcome.html.eta`) in the mail templates
 * folder; the built-in text below is used for any file that is not there.
 */
export const TEMPLATE_NAMES = [
  'welcome.subject', 'welcome.txt', 'welcome.html', 'reset.subject', 'reset.txt', 'reset.html', 'replaced.subject', 'replaced.txt', 'replaced.html',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface WelcomeData {
  firstName: string;
  username: string;
  tenantName: string;
  sipDomain: string;
  extension: { number: string; activationCode: string | null } | null;
  isAdmin: boolean;
  /** The number a phone dials to activate with the code. */
  registrationService: string;
  /** set: choose a password with the link; existing: use the one already chosen; none: online access is off. */
  password: 'set' | 'existing' | 'none';
  link: string | null;
  linkValidDays: number;
  signInUrl: string;
}

/** To a tenant's primary administrator: a phone activated with a code took an extension from the phone that had it. */
export interface ReplacedData {
  firstName: string;
  tenantName: string;
  extension: string;
  previous: { mac: string; model: string | null };
  next: { mac: string; model: string | null };
}

export interface ResetData {
  firstName: string;
  username: string;
  link: string;
  linkValidMinutes: number;
  signInUrl: string;
}

const BUILT_IN: Record<TemplateName, string> = {
  'welcome.subject': 'Welcome to <%= it.tenantName %> phone service',
  'welcome.txt': `Hello <%= it.firstName %>,

<% if (it.extension) { %>You have a phone extension at <%= it.tenantName %>.

  Extension:  <%= it.extension.number %>
  SIP domain: <%= it.sipDomain %>
<% if (it.extension.activationCode) { %>  Device activation code: <%= it.extension.activationCode %>
  To activate your desk phone, dial <%= it.registrationService %> from it and enter this code, then #.
<% } %><% } %><% if (it.isAdmin) { %>You are an administrator of the <%= it.tenantName %> phone system.
<% } %>
Your username: <%= it.username %>

<% if (it.password === 'set') { %>Choose your password here (the link works once, for <%= it.linkValidDays %> days):
<%= it.link %>
<% } else if (it.password === 'existing') { %>You already have a password: sign in with the same username and password as before.
<%= it.signInUrl %>
<% } %>`,
  'welcome.html': `<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello <%= it.firstName %>,</p>
<% if (it.extension) { %><p>You have a phone extension at <%= it.tenantName %>.</p>
<table>
<tr><th align="left">Extension</th><td><%= it.extension.number %></td></tr>
<tr><th align="left">SIP domain</th><td><%= it.sipDomain %></td></tr>
<% if (it.extension.activationCode) { %><tr><th align="left">Device activation code</th><td><%= it.extension.activationCode %></td></tr><% } %>
</table>
<% if (it.extension.activationCode) { %><p>To activate your desk phone, dial <strong><%= it.registrationService %></strong> from it and enter this code, then #.</p><% } %>
<% } %><% if (it.isAdmin) { %><p>You are an administrator of the <%= it.tenantName %> phone system.</p><% } %>
<p>Your username: <strong><%= it.username %></strong></p>
<% if (it.password === 'set') { %><p><a href="<%= it.link %>">Choose your password</a> (the link works once, for <%= it.linkValidDays %> days).</p>
<% } else if (it.password === 'existing') { %><p>You already have a password: <a href="<%= it.signInUrl %>">sign in</a> with the same username and password as before.</p>
<% } %></body></html>`,
  'replaced.subject': 'Extension <%= it.extension %> moved to another phone',
  'replaced.txt': `Hello <%= it.firstName %>,

A phone was activated on extension <%= it.extension %> at <%= it.tenantName %> with the extension's activation code.
The phone that had the extension no longer has one and stops receiving its calls.

  Now on the extension: <%= it.next.mac %><% if (it.next.model) { %> (<%= it.next.model %>)<% } %>
  No longer on it:      <%= it.previous.mac %><% if (it.previous.model) { %> (<%= it.previous.model %>)<% } %>

If nobody at <%= it.tenantName %> meant this, give the extension a new activation code and put the old phone back on it.
`,
  'replaced.html': `<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello <%= it.firstName %>,</p>
<p>A phone was activated on extension <strong><%= it.extension %></strong> at <%= it.tenantName %> with the extension's activation code.
The phone that had the extension no longer has one and stops receiving its calls.</p>
<table>
<tr><th align="left">Now on the extension</th><td><%= it.next.mac %><% if (it.next.model) { %> (<%= it.next.model %>)<% } %></td></tr>
<tr><th align="left">No longer on it</th><td><%= it.previous.mac %><% if (it.previous.model) { %> (<%= it.previous.model %>)<% } %></td></tr>
</table>
<p>If nobody at <%= it.tenantName %> meant this, give the extension a new activation code and put the old phone back on it.</p>
</body></html>`,
  'reset.subject': 'Reset your password',
  'reset.txt': `Hello <%= it.firstName %>,

Someone asked to reset the password of the username <%= it.username %>.
Choose a new password here (the link works once, for <%= it.linkValidMinutes %> minutes):
<%= it.link %>

If you did not ask for this, ignore this message: your password stays as it is.
`,
  'reset.html': `<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello <%= it.firstName %>,</p>
<p>Someone asked to reset the password of the username <strong><%= it.username %></strong>.</p>
<p><a href="<%= it.link %>">Choose a new password</a> (the link works once, for <%= it.linkValidMinutes %> minutes).</p>
<p>If you did not ask for this, ignore this message: your password stays as it is.</p>
</body></html>`,
};

export class MailTemplates {
  private readonly html = new Eta({ autoEscape: true, autoTrim: false });
  private readonly plain = new Eta({ autoEscape: false, autoTrim: false });

  // Compiled once per template text: a bulk upload renders thousands of welcomes.
  private readonly compiled = new Map<string, TemplateFunction>();

  constructor(private readonly dir: string | null) {}

  private run(eta: Eta, key: string, source: string, data: object): string {
    const id = `${key}\u0000${source}`;
    let fn = this.compiled.get(id);
    if (!fn) {
      fn = eta.compile(source);
      this.compiled.set(id, fn);
    }
    return eta.render(fn, data);
  }

  private source(name: TemplateName): string {
    if (this.dir) {
      const file = path.join(this.dir, `${name}.eta`);
      // Read on every use, so an operator's edit applies without a restart.
      if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    }
    return BUILT_IN[name];
  }

  render(base: 'welcome', data: WelcomeData): { subject: string; text: string; html: string };
  render(base: 'reset', data: ResetData): { subject: string; text: string; html: string };
  render(base: 'replaced', data: ReplacedData): { subject: string; text: string; html: string };
  render(base: 'welcome' | 'reset' | 'replaced', data: object): { subject: string; text: string; html: string } {
    const subject = this.run(this.plain, 'plain', this.source(`${base}.subject`), data).replace(/[\r\n]+/g, ' ').trim();
    return {
      subject,
      text: this.run(this.plain, 'plain', this.source(`${base}.txt`), data),
      html: this.run(this.html, 'html', this.source(`${base}.html`), data),
    };
  }
}
