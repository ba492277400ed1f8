import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * The stages of a call: the token check, planning (the compiled SQL), waiting for a turn at the warehouse,
 * the warehouse itself, analysis and summary (with neutralisation and redaction), and a chart's rendering.
 */
export const STAGES = ['auth', 'plan', 'queue', 'warehouse', 'summarise', 'chart'] as const;
export type Stage = (typeof STAGES)[number];

/** What the transport knows of a request before the door: the caller's trace context, the token check's time. */
export interface RequestTrace {
  /** The W3C `traceparent` the request came with. */
  readonly traceparent?: string | undefined;
  /** Milliseconds the token gate took. */
  readonly authMs?: number | undefined;
}

/** The listings a caller may ask for, audited under their own names. */
export const LISTINGS = ['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list'] as const;

/** A W3C traceparent: a version other than ff, a trace id and a parent id that are not all zeros. */
const TRACEPARENT = /^(?!ff)[\da-f]{2}-(?!0{32})([\da-f]{32})-(?!0{16})[\da-f]{16}-[\da-f]{2}$/;

/**
 * The name a call goes by in spans and metrics, from a fixed set: a tool the layer serves (or `tools/list`) by
 * its name, a resource, prompt or completion by its kind, anything else `other`. A caller chooses the names it
 * sends, and every distinct name would be a series or span name kept forever.
 */
export function callLabel(name: string, tools: { has(name: string): boolean }): string {
  if (tools.has(name) || (LISTINGS as readonly string[]).includes(name)) return name;
  return /^(resource|prompt|completion)[:/]/.exec(name)?.[1] ?? 'other';
}
const tracer = () => trace.getTracer('marquee');
const calls = new AsyncLocalStorage<CallTrace>();

/** The call the running code serves, if any. */
export function currentCall(): CallTrace | undefined {
  return calls.getStore();
}

/** Runs `work` as `stage` of the current call (timed and spanned), or as it is outside a call. */
export function inStage<T>(
  stage: Stage,
  work: (span?: Span) => Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  const call = currentCall();
  return call === undefined ? work() : call.stage(stage, work, attributes);
}

/**
 * One request through the door: its trace id (the caller's, the span's, or a fresh one when tracing is off,
 * so the audit record and the warehouse's query log still meet), the wall time each stage was busy (stages
 * running at once, like a call's parallel queries, count once), and what the warehouse read for it. With
 * tracing on, its span and one child span per stage go to the OpenTelemetry exporter.
 */
export class CallTrace {
  readonly traceId: string;
  /** Rows and bytes the warehouse read for this call, as the engine reported them. */
  readRows = 0;
  readBytes = 0;
  private readonly busy = new Map<Stage, { depth: number; since: number; totalMs: number }>();

  private constructor(
    /** What was called: a tool, a resource kind, a method. */
    readonly tool: string,
    readonly span: Span,
    traceId: string,
  ) {
    this.traceId = traceId;
  }

  /** Starts the trace of a call to `name` (a tool, a resource, a method). */
  static start(name: string, request: RequestTrace = {}): CallTrace {
    const traceparent = request.traceparent?.trim().toLowerCase();
    const parent = propagation.extract(ROOT_CONTEXT, traceparent === undefined ? {} : { traceparent });
    const started = Date.now();
    const span = tracer().startSpan(
      `marquee ${name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'marquee.tool': name },
        ...(request.authMs === undefined ? {} : { startTime: started - request.authMs }),
      },
      parent,
    );
    const own = span.spanContext();
    const traceId = trace.isSpanContextValid(own)
      ? own.traceId
      : (TRACEPARENT.exec(traceparent ?? '')?.[1] ?? randomBytes(16).toString('hex'));
    const call = new CallTrace(name, span, traceId);
    if (request.authMs !== undefined) {
      call.busy.set('auth', { depth: 0, since: 0, totalMs: request.authMs });
      tracer()
        .startSpan('marquee.auth', { startTime: started - request.authMs }, trace.setSpan(ROOT_CONTEXT, span))
        .end(started);
    }
    return call;
  }

  /** Runs `work` as this call: stages and warehouse reads inside it are counted here. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return calls.run(this, () => context.with(trace.setSpan(context.active(), this.span), work));
  }

  /** Marks `stage` busy until the returned function is called (nested and concurrent uses count once). */
  enter(stage: Stage): () => void {
    const state = this.busy.get(stage) ?? { depth: 0, since: 0, totalMs: 0 };
    this.busy.set(stage, state);
    if (state.depth++ === 0) state.since = performance.now();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--state.depth === 0) state.totalMs += performance.now() - state.since;
    };
  }

  /**
   * Runs `work` as `stage`: timed, in a child span of the call's that records its failure. The parent is named,
   * not taken from the context: a query's turn may start from the context of the call that freed the slot.
   */
  stage<T>(stage: Stage, work: (span: Span) => Promise<T>, attributes?: Attributes): Promise<T> {
    const leave = this.enter(stage);
    return tracer().startActiveSpan(
      `marquee.${stage}`,
      { ...(attributes === undefined ? {} : { attributes }) },
      trace.setSpan(ROOT_CONTEXT, this.span),
      async (span) => {
        try {
          return await work(span);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
          leave();
        }
      },
    );
  }

  /** Cache keys of the results this call read from the warehouse and kept. */
  readonly keptKeys: string[] = [];

  /** Notes a result this call read and kept. */
  kept(key: string): void {
    this.keptKeys.push(key);
  }

  /** Adds what one warehouse statement read. */
  read(rows: number, bytes: number): void {
    this.readRows += rows;
    this.readBytes += bytes;
  }

  /** A `query_id` for one statement of this call: the trace id and a fresh suffix (unique while it runs). */
  queryId(span?: Span): string {
    const own = span?.spanContext();
    const suffix =
      own !== undefined && trace.isSpanContextValid(own) ? own.spanId : randomBytes(8).toString('hex');
    return `${this.traceId}-${suffix}`;
  }

  /** Milliseconds each stage was busy, rounded to 0.01 ms (stages never entered are absent). */
  stages(): Record<string, number> {
    const now = performance.now();
    return Object.fromEntries(
      [...this.busy].map(([stage, state]) => [
        stage,
        Math.round((state.totalMs + (state.depth > 0 ? now - state.since : 0)) * 100) / 100,
      ]),
    );
  }

  /** Ends the call's span with how it ended. */
  end(outcome: string, errorClass: string): void {
    this.span.setAttributes({
      'marquee.outcome': outcome,
      'marquee.read_rows': this.readRows,
      'marquee.read_bytes': this.readBytes,
      ...(errorClass === '' ? {} : { 'marquee.error_class': errorClass }),
    });
    if (outcome !== 'ok') this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorClass });
    this.span.end();
  }
}
