import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnalyticsService } from '../tools/framework/analytics-service.js';
import type { AuditLog, AuditRecord } from './audit-log.js';
import { callLabel, STAGES } from './call-trace.js';

/** Error classes that mean the warehouse failed (rather than the caller or the rules). */
const WAREHOUSE_ERRORS = new Set([
  'warehouse_unavailable',
  'query_failed',
  'query_limit',
  'warehouse_locked',
]);

const STAGE_NAMES: ReadonlySet<string> = new Set(STAGES);

/** What the metrics read when scraped: the audit queue and the fair queue. */
export interface MetricSources {
  readonly audit: () => { readonly queued: number; readonly dropped: number; readonly unitemised: number };
  readonly fair: () => { readonly running: number; readonly waiting: number; readonly refused: number };
}

/**
 * Marquee's Prometheus metrics. Every request leaves exactly one audit record, so the per-call series are
 * counted from the records (`observe`): nothing answered or refused goes uncounted. Queue depths and drops are
 * read when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({
    name: 'marquee_calls_total',
    help: 'Requests by tool (or method) and outcome, refused ones included',
    labelNames: ['tool', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'marquee_call_duration_seconds',
    help: 'Time from a request reaching the door to its answer, by tool',
    labelNames: ['tool'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly stages = new Histogram({
    name: 'marquee_stage_duration_seconds',
    help: 'Time a call spent in each stage (auth, plan, queue, warehouse, summarise, chart), by tool; stages running at once count once',
    labelNames: ['tool', 'stage'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly readRows = new Counter({
    name: 'marquee_read_rows_total',
    help: 'Rows the warehouse read for calls, as the engine reported them, by tool',
    labelNames: ['tool'] as const,
    registers: [this.registry],
  });
  private readonly readBytes = new Counter({
    name: 'marquee_read_bytes_total',
    help: 'Bytes the warehouse read for calls, as the engine reported them, by tool',
    labelNames: ['tool'] as const,
    registers: [this.registry],
  });
  private readonly cache = new Counter({
    name: 'marquee_cache_total',
    help: 'Answered tool calls by whether the answer came from the result cache (hit) or was computed (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly rows = new Counter({
    name: 'marquee_rows_answered_total',
    help: 'Rows in the answers given, by tool',
    labelNames: ['tool'] as const,
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'marquee_refusals_total',
    help: 'Requests refused by a rule: rate limits, the fair queue (busy), the per-call read bound (cost), the token gate, scopes, bad requests',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly warehouseErrors = new Counter({
    name: 'marquee_warehouse_errors_total',
    help: 'Calls that failed in the warehouse, by error class',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });

  /** Tool names the `tool` label takes as they are; anything else is a kind (`resource`, `prompt`) or `other`. */
  private readonly tools: ReadonlySet<string>;

  constructor(sources: MetricSources, tools: readonly string[] = []) {
    this.tools = new Set(tools);
    const registers = [this.registry];
    // Values read when scraped: name, help, and how to read it.
    const read: [string, string, () => number][] = [
      [
        'marquee_audit_queue_depth',
        'Audit records waiting to be written to the warehouse',
        () => sources.audit().queued,
      ],
      [
        'marquee_audit_dropped',
        'Audit records dropped since start (the warehouse unreachable past the buffer)',
        () => sources.audit().dropped,
      ],
      [
        'marquee_audit_refusals_not_itemised',
        'Refusals without an identity counted rather than itemised, waiting to be written',
        () => sources.audit().unitemised,
      ],
      [
        'marquee_fair_queue_refused',
        'Warehouse queries refused since start for waiting longer than MARQUEE_QUEUE_WAIT_MS',
        () => sources.fair().refused,
      ],
    ];
    for (const [name, help, value] of read)
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    new Gauge({
      name: 'marquee_warehouse_queries',
      help: 'Warehouse queries in the fair queue, running or waiting for their turn',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const { running, waiting } = sources.fair();
        this.set({ state: 'running' }, running);
        this.set({ state: 'waiting' }, waiting);
      },
    });
  }

  /**
   * The `tool` label of a record, from a fixed set: a caller chooses the names it sends (an unknown tool, a
   * refused request's method or path), and every distinct label value would be a series kept forever.
   */
  private labelOf(record: AuditRecord): string {
    if (record.anonymous === true || record.outcome === 'unauthenticated' || record.tool.startsWith('('))
      return 'refused';
    return callLabel(record.tool, this.tools);
  }

  /** Counts one request from its audit record. */
  observe(record: AuditRecord): void {
    const tool = this.labelOf(record);
    this.calls.inc({ tool, outcome: record.outcome });
    this.latency.observe({ tool }, record.latencyMs / 1000);
    for (const [stage, ms] of Object.entries(record.stages ?? {}))
      if (STAGE_NAMES.has(stage)) this.stages.observe({ tool, stage }, ms / 1000);
    if ((record.readRows ?? 0) > 0) this.readRows.inc({ tool }, record.readRows);
    if ((record.readBytes ?? 0) > 0) this.readBytes.inc({ tool }, record.readBytes);
    if (record.outcome === 'ok') {
      this.rows.inc({ tool }, record.rows);
      if (this.tools.has(tool) && tool !== 'tools/list')
        this.cache.inc({ result: record.cacheHit ? 'hit' : 'miss' });
    }
    if (record.errorClass === 'warehouse_busy') this.refusals.inc({ reason: 'busy' });
    else if (record.errorClass === 'call_too_costly') this.refusals.inc({ reason: 'cost' });
    else if (['rate_limited', 'unauthenticated', 'forbidden', 'invalid_request'].includes(record.outcome))
      this.refusals.inc({ reason: record.outcome });
    if (WAREHOUSE_ERRORS.has(record.errorClass)) this.warehouseErrors.inc({ class: record.errorClass });
  }

  /** The text a Prometheus scrape gets. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Metrics of a server: counted from every record `audit` makes, with its and the service's queues. */
export function metricsOf(audit: AuditLog, service: AnalyticsService): Metrics {
  const metrics = new Metrics(
    {
      audit: () => audit.stats(),
      fair: () => ({ ...service.fair.load(), refused: service.fair.refused }),
    },
    [...service.layer.tools.keys()],
  );
  audit.listen((record) => metrics.observe(record));
  return metrics;
}

/**
 * Serves `/metrics` on its own port (MARQUEE_METRICS_PORT), apart from `/mcp`: bound to loopback unless
 * `host` says otherwise, so it is reachable by a scraper next to the server, not by MCP clients.
 */
export async function serveMetrics(
  metrics: Metrics,
  options: { host: string; port: number },
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${(error as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
