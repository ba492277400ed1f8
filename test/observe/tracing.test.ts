import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracingFrom } from '../../src/observe/tracing-config.js';
import { seedInChild, spawnHttpServer, tempDir } from '../helpers.js';

/** What an OTLP/HTTP collector on loopback received: each export's content type and body. */
interface Export {
  readonly contentType: string;
  readonly body: Buffer;
}

async function startCollector(): Promise<{ url: string; exports: Export[]; close: () => Promise<void> }> {
  const exports: Export[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST')
        exports.push({ contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
      const json = String(req.headers['content-type']).includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A span as OTLP/JSON carries it (ids in hex). */
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

function spansOf(exports: readonly Export[]): { spans: JsonSpan[]; services: string[] } {
  const spans: JsonSpan[] = [];
  const services: string[] = [];
  for (const { body } of exports) {
    const request = JSON.parse(body.toString('utf8')) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: JsonSpan[] }[];
      }[];
    };
    for (const resource of request.resourceSpans) {
      const name = resource.resource.attributes.find((a) => a.key === 'service.name');
      services.push(String(name?.value.stringValue));
      for (const scope of resource.scopeSpans) spans.push(...scope.spans);
    }
  }
  return { spans, services };
}

let dir: { path: string; remove: () => Promise<void> };
let dataDir: string;
let collector: Awaited<ReturnType<typeof startCollector>>;

beforeAll(async () => {
  dir = await tempDir('tracing');
  dataDir = join(dir.path, 'warehouse');
  seedInChild(dataDir);
  collector = await startCollector();
});

afterAll(async () => {
  await collector?.close();
  await dir?.remove();
});

/** `marquee serve --http` with `env`, asked one question under the caller's trace `traceparent`, then stopped. */
async function askTraced(env: Record<string, string>, traceparent: string) {
  const server = await spawnHttpServer({
    MARQUEE_DATA_DIR: dataDir,
    MARQUEE_STATE_DIR: join(dir.path, 'state'),
    MARQUEE_TENANT: 'aurora',
    MARQUEE_ROLES: 'vp',
    ...env,
  });
  const client = new Client({ name: 'tracing-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { traceparent } } }),
  );
  const result = await client.callTool({
    name: 'query_engagement',
    arguments: { time_range: '2026-Q3', geo: 'LATAM' },
  });
  expect(result.isError).not.toBe(true);
  await client.close();
  server.stop('SIGTERM');
  expect(await server.exited).toBe(0);
  const record = server.audit().find((entry) => entry.tool === 'query_engagement');
  return { record, log: server.log() };
}

describe('OpenTelemetry traces, by the standard OTEL_* variables', () => {
  it("sends a call's spans, stage by stage, under the caller's trace, and the audit record names the trace", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    collector.exports.length = 0;
    const { record, log } = await askTraced(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'marquee-under-test',
      },
      `00-${traceId}-${parent}-01`,
    );
    expect(log).toContain('exporting traces over OTLP (http/json)');
    // The spans were sent before the process exited (the drain flushes them).
    expect(collector.exports.every((e) => e.contentType === 'application/json')).toBe(true);
    const { spans, services } = spansOf(collector.exports);
    expect(new Set(services)).toEqual(new Set(['marquee-under-test']));
    const call = spans.find((span) => span.name === 'marquee query_engagement' && span.traceId === traceId);
    expect(call?.parentSpanId).toBe(parent);
    const children = spans.filter((span) => span.parentSpanId === call?.spanId);
    expect(children.every((span) => span.traceId === traceId)).toBe(true);
    const names = new Set(children.map((span) => span.name));
    for (const stage of ['marquee.plan', 'marquee.warehouse', 'marquee.summarise'])
      expect(names).toContain(stage);
    // Each warehouse span carries its statement (parameterised: no value of the call in it) and its reads.
    const reads = children.filter((span) => span.name === 'marquee.warehouse');
    for (const span of reads) {
      const text = span.attributes?.find((a) => a.key === 'db.query.text')?.value.stringValue;
      expect(String(text)).toMatch(/^select /);
      expect(String(text)).not.toContain('aurora');
      expect(span.attributes?.some((a) => a.key === 'db.response.read_rows')).toBe(true);
    }
    // The audit record carries the same trace, the stage times and the rows the engine read.
    expect(record).toMatchObject({ traceId, outcome: 'ok' });
    expect(Number(record?.readRows)).toBeGreaterThan(0);
    const stages = record?.stages as Record<string, number>;
    for (const stage of ['plan', 'queue', 'warehouse', 'summarise'])
      expect(stages[stage]).toBeGreaterThanOrEqual(0);
    const callAttributes = Object.fromEntries(
      (call?.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]),
    );
    expect(Number(callAttributes['marquee.read_rows'])).toBe(Number(record?.readRows));
  }, 120_000);

  it('exports OTLP protobuf by default, and nothing with OTEL_TRACES_EXPORTER=none', async () => {
    const traceId = randomBytes(16).toString('hex');
    collector.exports.length = 0;
    await askTraced({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, `00-${traceId}-${'a'.repeat(16)}-01`);
    expect(collector.exports.length).toBeGreaterThan(0);
    expect(collector.exports.every((e) => e.contentType === 'application/x-protobuf')).toBe(true);
    // Protobuf carries ids as raw bytes and names as UTF-8: both are in the body.
    const body = Buffer.concat(collector.exports.map((e) => e.body));
    expect(body.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('marquee.warehouse'))).toBe(true);

    // Off (OTEL_TRACES_EXPORTER=none; with no OTEL variable at all it is never started, see below): nothing
    // is sent, and the audit still names the caller's trace.
    collector.exports.length = 0;
    const off = await askTraced(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_EXPORTER: 'none' },
      `00-${traceId}-${'b'.repeat(16)}-01`,
    );
    expect(collector.exports).toEqual([]);
    expect(off.record?.traceId).toBe(traceId);
    expect(off.log).not.toContain('exporting traces');
  }, 120_000);
});

describe('tracing configuration', () => {
  it('is off unless an OTLP endpoint or exporter is named, and names what it does not take', () => {
    expect(tracingFrom({})).toBeUndefined();
    expect(tracingFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({
      protocol: 'http/protobuf',
      sampler: { name: 'parentbased_always_on' },
    });
    expect(tracingFrom({ OTEL_TRACES_EXPORTER: 'otlp' })).toBeDefined();
    expect(
      tracingFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(() => tracingFrom({ OTEL_TRACES_EXPORTER: 'console' })).toThrow(
      'Invalid environment: OTEL_TRACES_EXPORTER="console"; Marquee takes otlp, none',
    );
    expect(() => tracingFrom({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'Invalid environment: OTEL_EXPORTER_OTLP_PROTOCOL="grpc"; Marquee takes http/protobuf, http/json',
    );
    expect(() =>
      tracingFrom({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '2',
      }),
    ).toThrow('OTEL_TRACES_SAMPLER_ARG="2"; Marquee takes a ratio from 0 to 1');
  });
});
