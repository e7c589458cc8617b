/** How far one targeted phone has come. */
export type DeviceRolloutState = 'waiting' | 'fetched' | 'done' | 'failed' | 'stuck';

/** What the timeline says of one targeted phone. */
export interface DeviceRolloutFacts {
  deviceId: string;
  mac: string;
  /** The version its latest User-Agent reported, and since when; null when none did. */
  reportedVersion: string | null;
  /** The last time it fetched the target image whole; null when it has not. */
  imageFetchedAt: string | null;
  /** Its last fetch of anything (a configuration after the image, say). */
  lastSeenAt: string | null;
}

export interface DeviceProgress extends DeviceRolloutFacts {
  state: DeviceRolloutState;
}

/**
 * One phone's state: `done` once it reports the target version; `failed`
 * when it fetched the image and then came back still reporting another
 * version (the flash was refused or rolled back; a phone that reports no
 * version, over TFTP, is never judged so); `stuck` when it fetched
 * the image longer ago than `stuckMs` and has not been seen since;
 * `fetched` while it is within that time; `waiting` until it fetches the image.
 */
export function deviceState(f: DeviceRolloutFacts, version: string, nowMs: number, stuckMs: number): DeviceRolloutState {
  if (f.reportedVersion === version) return 'done';
  if (f.imageFetchedAt === null) return 'waiting';
  if (f.reportedVersion !== null && f.lastSeenAt !== null && f.lastSeenAt > f.imageFetchedAt) return 'failed';
  return nowMs - Date.parse(f.imageFetchedAt) > stuckMs ? 'stuck' : 'fetched';
}

export interface RolloutProgress {
  targeted: number;
  /** Phones that fetched the image, whatever came next. */
  fetchedImage: number;
  waiting: number;
  done: number;
  failed: number;
  stuck: number;
  /** Every targeted phone reports the target version. */
  complete: boolean;
  devices: DeviceProgress[];
}

export function rolloutProgress(facts: readonly DeviceRolloutFacts[], version: string, nowMs: number, stuckMs: number): RolloutProgress {
  const devices = facts.map((f) => ({ ...f, state: deviceState(f, version, nowMs, stuckMs) }));
  const count = (s: DeviceRolloutState) => devices.filter((d) => d.state === s).length;
  const done = count('done');
  return {
    targeted: devices.length,
    fetchedImage: devices.filter((d) => d.imageFetchedAt !== null).length,
    waiting: count('waiting'), done, failed: count('failed'), stuck: count('stuck'),
    complete: devices.length > 0 && done === devices.length,
    devices,
  };
}
