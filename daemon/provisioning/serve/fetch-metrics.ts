import type { Metrics, Cell, Series } from '../../ops/metrics';
import { LATENCY_BOUNDS } from '../../ops/metrics';
import type { FetchResult, Transport } from './fetch';

/**
 * Phones' fetches for GET /metrics, by vendor family, transport and result,
 * with the time to answer. Each cell is found through maps of the label
 * values and kept, so a fetch allocates nothing here.
 */
export class FetchMetrics {
  private readonly cells = new Map<string, Map<Transport, Map<string, Cell>>>();
  private readonly latency: Record<Transport, Series>;
  // The last cell counted: a run of fetches of one vendor's files over one transport finds it without the three lookups.
  private last: { vendor: string; transport: Transport; result: string; cell: Cell } | null = null;

  constructor(private readonly metrics: Metrics) {
    const h = metrics.histogram('dialtone_provisioning_fetch_seconds', 'Time to answer a phone\'s request for a file (to the first byte), by transport.', ['protocol'], LATENCY_BOUNDS);
    this.latency = { tftp: h.series('tftp'), http: h.series('http'), https: h.series('https') };
  }

  private cell(vendor: string, transport: Transport, result: string): Cell {
    const last = this.last;
    if (last !== null && last.vendor === vendor && last.transport === transport && last.result === result) return last.cell;
    const cell = this.lookup(vendor, transport, result);
    this.last = { vendor, transport, result, cell };
    return cell;
  }

  private lookup(vendor: string, transport: Transport, result: string): Cell {
    let byTransport = this.cells.get(vendor);
    if (!byTransport) this.cells.set(vendor, (byTransport = new Map()));
    let byResult = byTransport.get(transport);
    if (!byResult) byTransport.set(transport, (byResult = new Map()));
    let cell = byResult.get(result);
    if (!cell) {
      cell = this.metrics.counter('dialtone_provisioning_fetches_total', 'Phones\' requests for files, by vendor family (firmware: a static file; none: not served), transport and result.', ['vendor', 'protocol', 'result']).cell(vendor, transport, result);
      byResult.set(result, cell);
    }
    return cell;
  }

  /** Counts the answer and returns it, so the caller can hand it on. */
  record(transport: Transport, result: FetchResult, startedMs: number): FetchResult {
    const vendor = result.status === 'ok' ? result.file.vendor : result.status === 'static' ? 'firmware' : 'none';
    this.cell(vendor, transport, result.status).n++;
    this.latency[transport].observe((performance.now() - startedMs) / 1000);
    return result;
  }
}
