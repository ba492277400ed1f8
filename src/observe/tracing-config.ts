import { MarqueeError } from '../errors.js';

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;
const EXPORTERS = ['otlp', 'none'] as const;
const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * Traces, as the standard OpenTelemetry environment variables configure them; off unless they ask. Exported
 * over OTLP/HTTP only: `console` would write to stdout, which is the stdio transport's.
 */
export interface TracingConfig {
  readonly protocol: 'http/protobuf' | 'http/json';
  /** OTEL_TRACES_SAMPLER's name, and its ratio where it takes one. */
  readonly sampler: { readonly name: (typeof SAMPLERS)[number]; readonly ratio: number };
}

/** A bad OTEL_* variable, named with its value and the allowed ones. */
export class InvalidVariableError extends MarqueeError {
  constructor(
    readonly variable: string,
    value: string,
    readonly allowed: readonly string[],
  ) {
    super(
      'config_invalid',
      `Invalid environment: ${variable}=${JSON.stringify(value)}; Marquee takes ${allowed.join(', ')}`,
    );
  }
}

const invalid = (variable: string, value: string, allowed: readonly string[]) =>
  new InvalidVariableError(variable, value, allowed);

/**
 * Whether and how to trace, from OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none), the OTLP endpoint
 * and protocol variables and OTEL_TRACES_SAMPLER(_ARG). Off by default: on when OTEL_TRACES_EXPORTER says otlp,
 * or, unset, when an OTLP endpoint is set.
 */
export function tracingFrom(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  const text = (name: string) => env[name]?.trim() || undefined;
  if (text('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const exporters = (text('OTEL_TRACES_EXPORTER') ?? '').split(',').map((name) => name.trim());
  for (const name of exporters)
    if (name !== '' && !(EXPORTERS as readonly string[]).includes(name))
      throw invalid('OTEL_TRACES_EXPORTER', name, EXPORTERS);
  const endpoint = text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? text('OTEL_EXPORTER_OTLP_ENDPOINT');
  const on =
    exporters.includes('otlp') || (text('OTEL_TRACES_EXPORTER') === undefined && endpoint !== undefined);
  if (!on) return undefined;
  const protocolVariable =
    text('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined
      ? 'OTEL_EXPORTER_OTLP_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL';
  const protocol = text(protocolVariable) ?? 'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocol))
    throw invalid(protocolVariable, protocol, PROTOCOLS);
  return { protocol: protocol as TracingConfig['protocol'], sampler: samplerFrom(env) };
}

function samplerFrom(env: NodeJS.ProcessEnv): TracingConfig['sampler'] {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on';
  if (!(SAMPLERS as readonly string[]).includes(name)) throw invalid('OTEL_TRACES_SAMPLER', name, SAMPLERS);
  const argument = env.OTEL_TRACES_SAMPLER_ARG?.trim() || '1';
  const ratio = Number(argument);
  if (name.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1))
    throw invalid('OTEL_TRACES_SAMPLER_ARG', argument, ['a ratio from 0 to 1']);
  return { name: name as TracingConfig['sampler']['name'], ratio };
}
