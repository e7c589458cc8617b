import { FAMILIES, familyById } from './families';
import { findModel } from './match';

/**
 * The NOTIFY Event that makes a phone fetch its configuration again (or
 * reboot), for a family id (`yealink`) or a model name (`T46S`); null when
 * neither is known. For the SIP engine's resync.
 */
export function resyncEvent(vendorOrModel: string, opts: { reboot: boolean } = { reboot: false }): string | null {
  const family = familyById(vendorOrModel) ?? FAMILIES.find((f) => f.name === vendorOrModel) ?? findModel(vendorOrModel)?.family ?? null;
  if (!family) return null;
  return opts.reboot ? family.resync.reboot : family.resync.config;
}
