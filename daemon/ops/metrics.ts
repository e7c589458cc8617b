import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What dialtone exports on GET /metrics, in the Prometheus text format
 * through prom-client's registry. Components feed it from their own code:
 * counters and histograms keep plain numbers per label combination, found
 * once and kept by the caller, so a request on a hot path (a phone's fetch,
 * a REGISTER) adds to a number and builds no label object; prom-client reads
 * them only when scraped. Label values must come from small fixed sets
 * (vendors, transports, results): never a MAC, a user or a number.
 */

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };
type Read = () => Iterable<readonly [readonly string[], number]> | Promise<Iterable<readonly [readonly string[], number]>>;

/** One label combination of a counter. */
export class Cell {
  n = 0;
  inc(by = 1): void {
    this.n += by;
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  names.forEach((name, i) => (out[name] = values[i] ?? ''));
  return out;
}

abstract class Family<T> {
  readonly aggregator = 'sum';
  protected readonly all = new Map<string, { values: string[]; item: T }>();
  abstract readonly type: string;

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  protected find(values: string[], make: () => T): T {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values (${this.labelNames.join(', ')})`);
    const key = values.join('\u0000');
    let s = this.all.get(key);
    if (!s) this.all.set(key, (s = { values, item: make() }));
    return s.item;
  }

  abstract get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }>;

  /** Part of prom-client's metric contract (Registry.resetMetrics); a counter never goes back. */
  reset(): void {}
}

export class CounterFamily extends Family<Cell> {
  readonly type = 'counter';

  /** The cell of these label values: look it up once and keep it where a request is counted. */
  cell(...values: string[]): Cell {
    return this.find(values, () => new Cell());
  }

  /** Counts once for these label values: for paths that are not per request. */
  inc(...values: string[]): void {
    this.cell(...values).n++;
  }

  async get() {
    const values: Sample[] = [...this.all.values()].map((s) => ({ value: s.item.n, labels: labelsOf(this.labelNames, s.values) }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** One label combination of a histogram. */
export class Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export class HistogramFamily extends Family<Series> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[]) {
    super(name, help, labelNames);
  }

  series(...values: string[]): Series {
    return this.find(values, () => new Series(this.bounds));
  }

  async get() {
    const values: Sample[] = [];
    for (const s of this.all.values()) {
      const labels = labelsOf(this.labelNames, s.values);
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.item.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.item.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: s.item.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: s.item.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A value read when scraped (a queue's depth, a dependency's health), or counts a component keeps itself. */
class ReadFamily {
  readonly aggregator = 'sum';
  constructor(readonly name: string, readonly help: string, readonly type: 'gauge' | 'counter', readonly labelNames: readonly string[], private readonly read: Read) {}

  async get() {
    const values: Sample[] = [];
    for (const [v, value] of await this.read()) values.push({ value, labels: labelsOf(this.labelNames, v) });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

const NAME = /^dialtone_[a-z][a-z0-9_]*$/;

let processRegistry: Registry | null = null;

/** Process CPU, memory, file descriptors, event loop lag and garbage collection, under their usual names: once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly families = new Map<string, { labelNames: readonly string[]; family: unknown }>();

  constructor(version: string) {
    this.gauge('dialtone_build_info', 'The running build: always 1, with its version and Node.js version as labels.', ['version', 'node'], () => [[[version, process.version], 1]]);
  }

  private add<T>(name: string, labelNames: readonly string[], make: () => T): T {
    const known = this.families.get(name);
    if (known) {
      // Two components asking for one family (or a component built twice in a process) share it.
      if (known.labelNames.join() !== labelNames.join()) throw new Error(`metric ${name} is already defined with labels ${known.labelNames.join(', ')}`);
      return known.family as T;
    }
    if (!NAME.test(name)) throw new Error(`metric name ${name} must start with dialtone_ and use a-z, 0-9 and _`);
    const family = make();
    this.registry.registerMetric(family as never);
    this.families.set(name, { labelNames, family });
    return family;
  }

  /** A counter (name ending in _total) whose cells components add to. */
  counter(name: string, help: string, labelNames: readonly string[] = []): CounterFamily {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.add(name, labelNames, () => new CounterFamily(name, help, labelNames));
  }

  /** A histogram of durations in seconds, or of any value, with these upper bounds. */
  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): HistogramFamily {
    return this.add(name, labelNames, () => new HistogramFamily(name, help, labelNames, bounds));
  }

  /** A gauge read when scraped: `read` gives each label combination's value. */
  gauge(name: string, help: string, labelNames: readonly string[], read: Read): void {
    this.add(name, labelNames, () => new ReadFamily(name, help, 'gauge', labelNames, read));
  }

  /** A counter whose totals a component keeps itself, read when scraped. */
  counterFrom(name: string, help: string, labelNames: readonly string[], read: Read): void {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    this.add(name, labelNames, () => new ReadFamily(name, help, 'counter', labelNames, read));
  }

  async text(): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return own + process;
  }
}

/** Upper bounds, in seconds, for the time to answer a phone's request. */
export const LATENCY_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;
