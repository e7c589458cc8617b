import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/options';

export type { Logger };

/**
 * Secrets must never reach a log line, whatever object a caller hands over:
 * every key that can hold one is censored at any depth we log at.
 */
export const REDACT_PATHS = [
  'password', 'pin', 'token', 'secret', 'authorization', 'sipPassword', 'passwordHash',
  '*.password', '*.pin', '*.token', '*.secret', '*.authorization', '*.sipPassword', '*.passwordHash',
  '*.*.password', '*.*.pin', '*.*.token', '*.*.secret',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'dialtone' } }, destination);
}
