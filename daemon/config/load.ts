import fs from 'node:fs';
import { OPTIONS, OptionError, type Config } from './options';

/** A setting that cannot be used: the message is the one line the daemon prints before it stops. */
export class ConfigError extends Error {}

const FILE_ENV = 'DIALTONE_CONFIG';

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${FILE_ENV}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${FILE_ENV}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${FILE_ENV}: ${file} must hold a JSON object`);
  }
  const known = new Set<string>(OPTIONS.map((o) => o.key));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`${FILE_ENV}: ${file}: unknown option "${key}"`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Resolves every option from the environment, then the JSON file named by
 * DIALTONE_CONFIG, then the default. Pure apart from reading that one file.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env[FILE_ENV] ? readFile(env[FILE_ENV]) : {};
  const resolved: Partial<Record<keyof Config, unknown>> = {};
  for (const option of OPTIONS) {
    const fromEnv = env[option.env];
    const fromFile = file[option.key];
    let raw: string | undefined;
    let source = option.env;
    if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
    } else if (fromFile !== undefined && fromFile !== null) {
      if (typeof fromFile !== 'string' && typeof fromFile !== 'number') {
        throw new ConfigError(`${option.key} (in ${env[FILE_ENV]}): must be a string or a number`);
      }
      raw = String(fromFile);
      source = `${option.key} (in ${env[FILE_ENV]})`;
    }
    if (raw === undefined) {
      resolved[option.key] = option.fallback(resolved as Partial<Config>);
      continue;
    }
    try {
      resolved[option.key] = option.parse(raw);
    } catch (err) {
      if (err instanceof OptionError) throw new ConfigError(`${source}: ${err.message}`);
      throw err;
    }
  }
  return resolved as Config;
}
