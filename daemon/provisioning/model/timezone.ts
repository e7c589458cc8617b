import type { TimezoneFormat } from '../vendors/types';

/**
 * A zone's rules as phones understand them: a standard offset and, where the
 * zone observes it, a yearly daylight-saving rule of the form "the n-th (or
 * last) weekday of a month at a wall-clock time". Read from the IANA database
 * that ships with Node's Intl, so a zone whose rules changed (Mexico dropped
 * DST in 2022) is right as soon as Node's tzdata is.
 */
export interface ZoneRules {
  zone: string;
  /** Standard time, minutes east of UTC. */
  standard: number;
  dst: { save: number; start: DstChange; end: DstChange } | null;
}

export interface DstChange {
  month: number;
  /** 1 to 4 for the first to fourth, 5 for the last such weekday of the month. */
  week: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Wall-clock minutes after midnight, in the time in force before the change. */
  minutes: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formats.set(zone, f);
  }
  return f;
}

/** Minutes east of UTC for a zone at an instant (ms). */
function offsetAt(zone: string, ms: number): number {
  const parts = formatFor(zone).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((local - Math.floor(ms / 60000) * 60000) / 60000);
}

interface Transition {
  at: number;
  before: number;
  after: number;
}

const DAY = 86_400_000;

/** Every offset change in a UTC calendar year, found day by day and narrowed to the minute. */
function transitions(zone: string, year: number): Transition[] {
  const found: Transition[] = [];
  const end = Date.UTC(year + 1, 0, 1);
  let t = Date.UTC(year, 0, 1);
  let off = offsetAt(zone, t);
  for (; t < end; t += DAY) {
    const next = offsetAt(zone, t + DAY);
    if (next === off) continue;
    let lo = t;
    let hi = t + DAY;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offsetAt(zone, mid) === off) lo = mid;
      else hi = mid;
    }
    found.push({ at: hi, before: off, after: next });
    off = next;
  }
  return found;
}

function change(tr: Transition): DstChange & { day: number; daysInMonth: number } {
  const local = new Date(tr.at + tr.before * 60_000);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth();
  const day = local.getUTCDate();
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return { month: month + 1, week: Math.ceil(day / 7), weekday: local.getUTCDay(), minutes: local.getUTCHours() * 60 + local.getUTCMinutes(), day, daysInMonth };
}

/**
 * Which week of the month a change falls in, as a rule: "last" when it is
 * the last such weekday every year looked at (the 25th is both the fourth
 * and the last Sunday of some Marches), else the week it always falls in.
 */
function weekRule(samples: ReturnType<typeof change>[]): number {
  if (samples.every((s) => s.day + 7 > s.daysInMonth)) return 5;
  return samples[0]!.week;
}

// Years looked at to tell "the last Sunday" from "the fourth Sunday"; the 25th to 28th are both in some years.
const YEARS_COMPARED = 4;
// How far ahead a year in which the rules change (one change, or three) looks for the rule that follows.
const YEARS_AHEAD = 3;

/** The offset in force in most months of the year. */
function mostOfYear(zone: string, year: number): number {
  const seen = new Map<number, number>();
  for (let m = 0; m < 12; m++) {
    const off = offsetAt(zone, Date.UTC(year, m, 15));
    seen.set(off, (seen.get(off) ?? 0) + 1);
  }
  return [...seen].sort((a, b) => b[1] - a[1])[0]![0];
}

const cache = new Map<string, ZoneRules>();

/** A zone's rules in force in `year`; throws RangeError for a name Intl does not know. */
export function zoneRules(zone: string, year: number): ZoneRules {
  const key = `${zone}\0${year}`;
  let rules = cache.get(key);
  if (!rules) {
    rules = rulesOf(zone, year, YEARS_AHEAD);
    cache.set(key, rules);
  }
  return rules;
}

function rulesOf(zone: string, year: number, ahead: number): ZoneRules {
  const first = transitions(zone, year);
  if (first.length === 0) return { zone, standard: offsetAt(zone, Date.UTC(year, 0, 1)), dst: null };
  if (first.length !== 2) {
    if (ahead > 0) return rulesOf(zone, year + 1, ahead - 1);
    return { zone, standard: Math.min(...first.map((t) => t.after)), dst: null };
  }
  const years = [first];
  for (let y = year + 1; y < year + YEARS_COMPARED; y++) {
    const tr = transitions(zone, y);
    if (tr.length !== 2) break;
    years.push(tr);
  }
  const pairs = years.map(([a, b]) => (a!.after > a!.before ? [a!, b!] : [b!, a!]));
  const starts = pairs.map((p) => change(p[0]!));
  const ends = pairs.map((p) => change(p[1]!));
  // A rule that moves from month to month (Morocco's follows Ramadan) has no form a phone understands:
  // the phone keeps the offset in force most of the year and is a little off for some weeks.
  if (![...starts, ...ends].every((c, i, all) => c.month === all[i < starts.length ? 0 : starts.length]!.month)) {
    return { zone, standard: mostOfYear(zone, year), dst: null };
  }
  const rule = (s: typeof starts): DstChange => ({ month: s[0]!.month, week: weekRule(s), weekday: s[0]!.weekday, minutes: s[0]!.minutes });
  const start = pairs[0]![0]!;
  return { zone, standard: start.before, dst: { save: start.after - start.before, start: rule(starts), end: rule(ends) } };
}

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (minutes: number) => `${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
const hms = (minutes: number) => `${hhmm(minutes)}:00`;
const signed = (n: number) => (n < 0 ? String(n) : `+${n}`);
/** Monday = 1 … Sunday = 7, as Yealink, Cisco and Snom count. */
const isoWeekday = (weekday: number) => (weekday === 0 ? 7 : weekday);

/** Yealink `local_time.*`: hours east (+5.5), and a by-week rule `month/week/weekday/hour` (week 5 = last, weekday 7 = Sunday). */
function yealink(r: ZoneRules) {
  const at = (c: DstChange) => `${c.month}/${c.week}/${isoWeekday(c.weekday)}/${Math.floor(c.minutes / 60)}`;
  return { timeZone: signed(r.standard / 60), dst: r.dst && { start: at(r.dst.start), end: at(r.dst.end), offsetMinutes: r.dst.save } };
}

/**
 * Polycom `tcpIpApp.sntp.*`: seconds east, and per change the month, the
 * first day of the week it falls in (1, 8, 15, 22; null with lastInMonth), the day
 * of week (1 = Sunday) and the hour.
 */
function polycom(r: ZoneRules) {
  const at = (c: DstChange) => ({ month: c.month, date: c.week === 5 ? null : (c.week - 1) * 7 + 1, dayOfWeek: c.weekday + 1, lastInMonth: c.week === 5 ? 1 : 0, time: Math.floor(c.minutes / 60) });
  return { gmtOffset: r.standard * 60, dst: r.dst && { start: at(r.dst.start), stop: at(r.dst.end) } };
}

/**
 * Cisco SPA and MPP: `Time_Zone` as GMT±hh:mm and `Daylight_Saving_Time_Rule`
 * `start=m/d/w/h:m:s;end=…;save=h[:m]`, where d is the day the weekday is
 * on or after, or -1 for the last one, and w counts Monday = 1 … Sunday = 7.
 */
function cisco(r: ZoneRules) {
  const at = (c: DstChange) => `${c.month}/${c.week === 5 ? -1 : (c.week - 1) * 7 + 1}/${isoWeekday(c.weekday)}/${Math.floor(c.minutes / 60)}:${c.minutes % 60}:0`;
  return {
    timeZone: `GMT${r.standard < 0 ? '-' : '+'}${hhmm(r.standard)}`,
    dstRule: r.dst && `start=${at(r.dst.start)};end=${at(r.dst.end)};save=${Math.floor(r.dst.save / 60)}${r.dst.save % 60 ? `:${r.dst.save % 60}` : ''}`,
  };
}

/** A POSIX offset: hours west of UTC, so UTC+5:30 is -5:30. */
function posixOffset(eastMinutes: number): string {
  const west = -eastMinutes;
  const a = Math.abs(west);
  return `${west < 0 ? '-' : '+'}${Math.floor(a / 60)}${a % 60 ? `:${pad(a % 60)}` : ''}`;
}

/**
 * Grandstream's self-defined zone (P246) is a POSIX TZ string; the zone
 * names are placeholders the phone only displays.
 */
function posix(r: ZoneRules) {
  if (!r.dst) return { tz: `STD${posixOffset(r.standard)}` };
  const at = (c: DstChange) => `M${c.month}.${c.week}.${c.weekday}/${hms(c.minutes)}`;
  return { tz: `STD${posixOffset(r.standard)}DST${posixOffset(r.standard + r.dst.save)},${at(r.dst.start)},${at(r.dst.end)}` };
}

/**
 * Snom names its built-in zones by country and offset; those kept here
 * carry the same rule as the IANA zone (vendors' tables lag behind changes,
 * so a zone whose rules changed is left out and gets `utc_offset` and `dst`).
 */
const SNOM_ZONES: Record<string, string> = {
  'America/New_York': 'USA-5',
  'America/Chicago': 'USA-6',
  'America/Denver': 'USA-7',
  'America/Los_Angeles': 'USA-8',
  'Europe/London': 'GBR-0',
  'Europe/Berlin': 'GER+1',
  'Europe/Paris': 'FRA+1',
  'Australia/Sydney': 'AUS+10',
  'Asia/Kolkata': 'IND+5.5',
  'Asia/Tokyo': 'JPN+9',
};

/** Snom: its zone code where it has one, and always `utc_offset` (seconds) with a `dst` rule `save mm.ww.dd hh:mm:ss …` (week 5 = last, day 7 = Sunday). */
function snom(r: ZoneRules) {
  const at = (c: DstChange) => `${pad(c.month)}.${pad(c.week)}.${pad(isoWeekday(c.weekday))} ${hms(c.minutes)}`;
  return { code: SNOM_ZONES[r.zone] ?? null, utcOffset: r.standard * 60, dst: r.dst && `${r.dst.save * 60} ${at(r.dst.start)} ${at(r.dst.end)}` };
}

/** Fanvil X: quarter hours east, and per change month, week (-1 = last), weekday (0 = Sunday) and hour. */
function fanvil(r: ZoneRules) {
  const at = (c: DstChange) => ({ month: c.month, week: c.week === 5 ? -1 : c.week, weekday: c.weekday, hour: Math.floor(c.minutes / 60) });
  return { timeZone: r.standard / 15, dst: r.dst && { minOffset: r.dst.save, start: at(r.dst.start), end: at(r.dst.end) } };
}

const FORMATTERS = { yealink, polycom, cisco, posix, snom, fanvil } satisfies Record<TimezoneFormat, (r: ZoneRules) => unknown>;

export type VendorTime<F extends TimezoneFormat> = ReturnType<(typeof FORMATTERS)[F]>;

/** The zone's rules in the vendor's spelling, for its templates (`it.time`). */
export function vendorTime<F extends TimezoneFormat>(zone: string, format: F, year: number): VendorTime<F> {
  return FORMATTERS[format](zoneRules(zone, year)) as VendorTime<F>;
}
