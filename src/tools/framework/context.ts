import type { RateLimits } from '../../guard/rate-limits.js';
import type { AuditLog } from '../../observe/audit-log.js';
import type { Metrics } from '../../observe/metrics.js';
import type { AnalyticsService } from './analytics-service.js';
import type { CursorCodec } from './cursor.js';

/** What every request shares: the layer and warehouse (through the service), cursor keys, audit and limits. */
export interface Dependencies {
  readonly service: AnalyticsService;
  readonly cursors: CursorCodec;
  readonly audit: AuditLog;
  readonly limits: RateLimits;
  /** Tool results carry their chart as an inline PNG image besides its link (MARQUEE_INLINE_CHART_PNG). */
  readonly inlineChartPng?: boolean;
  /** Prometheus metrics, counted from the audit records (served on MARQUEE_METRICS_PORT). */
  readonly metrics?: Metrics;
}
