import { OPTIONS } from '../daemon/config/options';

// Prints the README's configuration rows from the option table, so a new option's row is generated, not retyped.
for (const o of OPTIONS) process.stdout.write(`| \`${o.env}\` (${o.key}) | ${o.defaultText} | ${o.description} |\n`);
