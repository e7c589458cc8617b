import crypto from 'node:crypto';

/** A rollout as the target rules read it: which image, for whom, and how far it has widened. */
export interface RolloutRule {
  id: string;
  imageId: string;
  model: string;
  version: string;
  tenantId: string;
  /** Narrows the rollout to one site of the tenant. */
  siteId: string | null;
  /** A stage of a share of the phones in scope, 1 to 100; null for a list stage. */
  percent: number | null;
  /** A stage of named devices; null for a percentage stage. */
  deviceIds: string[] | null;
  createdAt: string;
}

/** What decides whether a rollout reaches a device. */
export interface DeviceInScope {
  id: string;
  mac: string;
  /** The model's canonical name (findModel), or null when the device has none dialtone knows. */
  model: string | null;
  tenantId: string | null;
  siteId: string | null;
}

const BUCKETS = 10_000;

/**
 * Where a MAC falls among 10,000 buckets: from a hash, so neighbouring MACs
 * (a box of phones bought together) spread over every stage, and fixed, so a
 * 10% stage is the same phones on every fetch and stays inside the 50% stage it widens to.
 */
export function macBucket(mac: string): number {
  return crypto.createHash('sha256').update(mac.toLowerCase()).digest().readUInt32BE(0) % BUCKETS;
}

export function inStage(rule: RolloutRule, device: DeviceInScope): boolean {
  if (rule.deviceIds) return rule.deviceIds.includes(device.id);
  return macBucket(device.mac) < (rule.percent ?? 0) * (BUCKETS / 100);
}

/** 3 for a rollout to named devices, 2 for a site's, 1 for a whole tenant's: the most specific one reaching a device wins. */
function specificity(rule: RolloutRule): number {
  if (rule.deviceIds) return 3;
  return rule.siteId ? 2 : 1;
}

function covers(rule: RolloutRule, device: DeviceInScope): boolean {
  return device.model === rule.model && device.tenantId === rule.tenantId && (rule.siteId === null || rule.siteId === device.siteId);
}

/**
 * The rollout whose image a device should run: among those whose scope and
 * current stage include it, the most specific (devices, then site, then
 * tenant), and of equals the newest. A device outside a site's 10% stage
 * still follows its tenant's rollout if that one includes it. Null: nothing
 * targets it, and the phone keeps what it runs.
 */
export function targetRollout(device: DeviceInScope, rules: readonly RolloutRule[]): RolloutRule | null {
  let best: RolloutRule | null = null;
  for (const rule of rules) {
    if (!covers(rule, device) || !inStage(rule, device)) continue;
    if (best === null) {
      best = rule;
      continue;
    }
    const d = specificity(rule) - specificity(best);
    if (d > 0 || (d === 0 && (rule.createdAt > best.createdAt || (rule.createdAt === best.createdAt && rule.id > best.id)))) best = rule;
  }
  return best;
}

/** Devices whose target image differs between two sets of rollouts: the ones to tell to fetch their configuration again. */
export function retargeted(devices: readonly DeviceInScope[], before: readonly RolloutRule[], after: readonly RolloutRule[]): DeviceInScope[] {
  return devices.filter((d) => targetRollout(d, before)?.imageId !== targetRollout(d, after)?.imageId);
}

/** Why a new stage does not widen the current one, or null when it does: a stage only grows; going back is a new rollout. */
export function narrowing(current: Pick<RolloutRule, 'percent' | 'deviceIds'>, next: { percent?: number; deviceIds?: string[] }): { field: string; reason: string } | null {
  if (current.percent !== null) {
    if (next.deviceIds !== undefined) return { field: 'deviceIds', reason: 'this rollout is staged by percentage: widen it with percent' };
    if (next.percent !== undefined && next.percent < current.percent) return { field: 'percent', reason: `a stage only widens (now ${current.percent}, got ${next.percent}); cancel the rollout to go back` };
    return null;
  }
  if (next.percent !== undefined) return { field: 'percent', reason: 'this rollout is staged by a list of devices: widen it with deviceIds' };
  const dropped = (current.deviceIds ?? []).filter((id) => !(next.deviceIds ?? current.deviceIds ?? []).includes(id));
  if (dropped.length > 0) return { field: 'deviceIds', reason: `a stage only widens: ${dropped.length} device(s) of the current stage are missing (${dropped.slice(0, 3).join(', ')})` };
  return null;
}
