import fs from 'node:fs';
import path from 'node:path';
import type { CodecName } from './sdp';

/**
 * Recorded prompts, pre-encoded for each codec we offer (made by
 * scripts/make-prompts.sh): <dir>/<language>/<name>.ulaw, .alaw and .g722,
 * raw RTP payload at 160 bytes per 20 ms. They are read once at start-up,
 * and a missing or damaged file stops the start with its path and the reason.
 */
export const FRAME_BYTES = 160;
/** A minute of audio: longer is not a prompt. */
const MAX_BYTES = 60 * 50 * FRAME_BYTES;
const EXTENSIONS: Record<CodecName, string> = { PCMU: 'ulaw', PCMA: 'alaw', G722: 'g722' };

export type Prompt = Record<CodecName, Buffer>;

export class PromptError extends Error {}

/** The built-in prompts, found from here both in the source tree and in the compiled dist/. */
export function builtinPromptsDir(start = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prompts');
    if (fs.existsSync(path.join(candidate, 'en'))) return candidate;
    if (path.dirname(dir) === dir) throw new PromptError('the built-in prompts folder was not found');
  }
}

export function loadPrompts<N extends string>(dir: string, language: string, names: readonly N[]): Record<N, Prompt> {
  const folder = path.join(dir, language);
  const out = {} as Record<N, Prompt>;
  for (const name of names) {
    const prompt = {} as Prompt;
    for (const [codec, ext] of Object.entries(EXTENSIONS) as [CodecName, string][]) {
      const file = path.join(folder, `${name}.${ext}`);
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        throw new PromptError(`prompt ${file} is missing (DIALTONE_PROMPTS_DIR/DIALTONE_PROMPTS_LANGUAGE; scripts/make-prompts.sh makes a set)`);
      }
      if (size === 0 || size % FRAME_BYTES !== 0 || size > MAX_BYTES) {
        throw new PromptError(`prompt ${file} must be raw ${codec} of whole 20 ms frames (${FRAME_BYTES} bytes each), at most a minute; it has ${size} bytes`);
      }
      prompt[codec] = fs.readFileSync(file);
    }
    out[name] = prompt;
  }
  return out;
}
