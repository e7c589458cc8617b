#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { buildApp } from '../app';
import { ConfigError, loadConfig } from '../config/load';
import { DomainError } from '../core/errors';
import { createLogger } from '../core/log';
import { BulkValidationError } from '../bulk/import';
import { version } from '../version';
import { COMMANDS, type Command, UsageError } from './commands';
import { InputFileError } from './input-file';

// Exit codes, as sysexits(3) names them where one fits.
const EXIT = { refused: 1, config: 2, usage: 64, noInput: 66, internal: 70 } as const;

const SERVE: Command = {
  name: 'serve', synopsis: '', summary: 'run the daemon (what npm start runs); settings from DIALTONE_* variables', options: {},
  run: () => serve(),
};

const ALL = [SERVE, ...COMMANDS];

const usageLine = (c: Command) => `dialtone ${c.name}${c.synopsis ? ` ${c.synopsis}` : ''}`;

const USAGE = `usage: dialtone <command> [options]

${ALL.map((c) => `  ${usageLine(c)}\n      ${c.summary}`).join('\n')}
  dialtone help [COMMAND], dialtone COMMAND --help
      this text, or one command's
  dialtone --version
      the version

Settings come from DIALTONE_* environment variables or the JSON file named by DIALTONE_CONFIG (see README.md).
Commands print JSON on stdout. Exit status: 0 done; 1 refused (the reason is printed: a field, a line of a file,
something not found); 2 a setting is wrong; 64 the command was called wrongly; 66 an input file cannot be read;
70 an internal error (please report it, with the trace printed).`;

const helpOf = (c: Command) => `usage: ${usageLine(c)}\n\n${c.summary}\n`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const app = await buildApp(config, { log });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen();
}

/** The command named by the leading words of argv (`tenant create`), and the arguments after them. */
function find(argv: string[]): { command: Command | null; rest: string[]; words: string[] } {
  for (const c of ALL) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command: c, rest: argv.slice(words.length), words };
  }
  const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2);
  return { command: null, rest: [], words };
}

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

async function main(argv: string[]): Promise<void> {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const asked = first === 'help' && argv.length > 1 ? find(argv.slice(1)).command : null;
    if (first === 'help' && argv.length > 1 && !asked) throw new UsageError(`unknown command: ${argv.slice(1).join(' ')}`);
    if (first === undefined) throw new UsageError('no command given');
    process.stdout.write(asked ? helpOf(asked) : `${USAGE}\n`);
    return;
  }
  if (first === '--version' || first === 'version') {
    process.stdout.write(`dialtone ${version}\n`);
    return;
  }
  const { command, rest, words } = find(argv);
  if (!command) {
    const group = ALL.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0 && (argv.length === 1 || wantsHelp(argv))) {
      const text = `usage:\n${group.map((c) => `  ${usageLine(c)}\n      ${c.summary}`).join('\n')}\n`;
      if (wantsHelp(argv)) return void process.stdout.write(text);
      throw new UsageError(`${first} needs one of: ${group.map((c) => c.name.split(' ')[1]).join(', ')}`);
    }
    throw new UsageError(`unknown command: ${words.join(' ')}`);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(helpOf(command));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, strict: true, allowPositionals: true, options: command.options });
  } catch (err) {
    // node's messages go on to explain `--`; the first sentence is the mistake.
    throw new UsageError((err as Error).message.replace(/\. .*$/s, ''), command);
  }
  const wanted = command.positionals ?? 0;
  if (parsed.positionals.length !== wanted) {
    throw new UsageError(wanted === 0 ? `${command.name} takes no argument ${JSON.stringify(parsed.positionals[0])}` : `${command.name} needs ${command.synopsis.split(' ')[0]}`, command);
  }
  try {
    await command.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (err instanceof UsageError && !err.command) throw new UsageError(err.message, command);
    if (err instanceof DomainError) throw Object.assign(err, { command });
    throw err;
  }
}

/** A field problem as the person typing knows it: by the flag that set it. */
function problemLine(command: Command | undefined, field: string, reason: string): string {
  return `${command?.flags?.[field] ?? field}: ${reason}`;
}

function report(err: unknown): number {
  const say = (text: string) => process.stderr.write(`dialtone: ${text}\n`);
  if (err instanceof ConfigError) {
    say(err.message);
    return EXIT.config;
  }
  if (err instanceof UsageError) {
    say(err.message);
    process.stderr.write(`\n${err.command ? helpOf(err.command) : `${USAGE}\n`}`);
    return EXIT.usage;
  }
  if (err instanceof BulkValidationError) {
    const file = (err as BulkValidationError & { file?: string }).file ?? 'the file';
    const problems = err.details as { line?: number; column?: string; reason: string }[];
    say(`${file} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}; nothing was created`);
    // FILE:LINE: as compilers print it, so an editor can jump to the line.
    for (const p of problems) process.stderr.write(`${file}${p.line ? `:${p.line}` : ''}: ${p.column ?? 'file'}: ${p.reason}\n`);
    return EXIT.refused;
  }
  if (err instanceof DomainError) {
    const command = (err as DomainError & { command?: Command }).command;
    say(err.details.length > 0 ? err.details.map((d) => problemLine(command, d.field, d.reason)).join('; ') : err.message);
    return EXIT.refused;
  }
  if (err instanceof InputFileError) {
    say(err.message);
    return EXIT.noInput;
  }
  process.stderr.write(`dialtone: internal error: ${(err as Error).stack ?? String(err)}\n`);
  return EXIT.internal;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exit(report(err));
});
