import type { TimezoneFormat } from '../vendors/types';

/** Minutes east of UTC for a zone at an instant, from Intl: no zone table to keep current. */
function offsetAt(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((local - Math.floor(at.getTime() / 60000) * 60000) / 60000);
}

export interface ZoneOffsets {
  /** Standard time, minutes east of UTC. */
  standard: number;
  observesDst: boolean;
}

/** Daylight time always adds, so the smaller of January's and July's offsets is standard time, in either hemisphere. */
export function zoneOffsets(zone: string, year = new Date().getUTCFullYear()): ZoneOffsets {
  const jan = offsetAt(zone, new Date(Date.UTC(year, 0, 1)));
  const jul = offsetAt(zone, new Date(Date.UTC(year, 6, 1)));
  return { standard: Math.min(jan, jul), observesDst: jan !== jul };
}

const pad = (n: number) => String(n).padStart(2, '0');

function hhmm(minutes: number): string {
  const a = Math.abs(minutes);
  return `${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** The zone's standard offset as the vendor writes it. */
export function vendorTimezone(zone: string, format: TimezoneFormat): string {
  const { standard } = zoneOffsets(zone);
  switch (format) {
    case 'seconds':
      return String(standard * 60);
    case 'hours':
      return String(standard / 60);
    case 'gmt-hhmm':
      return `GMT${standard < 0 ? '-' : '+'}${hhmm(standard)}`;
    case 'posix':
      // POSIX TZ counts west of UTC as positive: UTC+5 is five hours behind.
      return `UTC${standard > 0 ? '-' : '+'}${hhmm(standard)}`;
  }
}
