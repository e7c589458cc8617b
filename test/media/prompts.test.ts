import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PROMPT_NAMES } from '../../daemon/activation/entry';
import { builtinPromptsDir, loadPrompts } from '../../daemon/media/prompts';

t.test('the shipped prompts are complete, in whole frames, the same length in every codec', async (t) => {
  const prompts = loadPrompts(builtinPromptsDir(), 'en', PROMPT_NAMES);
  for (const name of PROMPT_NAMES) {
    const p = prompts[name];
    t.ok(p.PCMU.length === p.PCMA.length && p.PCMA.length === p.G722.length, `${name}: ${p.PCMU.length} bytes in each codec`);
  }
  t.ok(prompts.greeting.PCMU.length >= 8000 * 1, 'the greeting lasts a second or more');
});

t.test('a missing or damaged prompt stops the start with its path', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-prompts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'fr'));
  for (const ext of ['ulaw', 'alaw', 'g722']) fs.writeFileSync(path.join(dir, 'fr', `greeting.${ext}`), Buffer.alloc(320));
  t.throws(() => loadPrompts(dir, 'fr', ['greeting', 'enter-code']), { message: new RegExp(`prompt ${path.join(dir, 'fr', 'enter-code.ulaw').replace(/[/.]/g, '\\$&')} is missing`) });
  t.throws(() => loadPrompts(dir, 'de', ['greeting']), { message: /de\/greeting\.ulaw is missing/ }, 'a language without a folder');
  fs.writeFileSync(path.join(dir, 'fr', 'greeting.alaw'), Buffer.alloc(321));
  t.throws(() => loadPrompts(dir, 'fr', ['greeting']), { message: /greeting\.alaw must be raw PCMA of whole 20 ms frames \(160 bytes each\), at most a minute; it has 321 bytes/ });
});
