import crypto from 'node:crypto';

export const newId = (): string => crypto.randomUUID();
export const now = (): string => new Date().toISOString();
