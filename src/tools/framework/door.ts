import { z } from 'zod';
import type { Identity } from '../../auth/identity.js';
import {
  type ChartTarget,
  chartTarget,
  drawChart,
  type ResultsTarget,
  resultsTarget,
  resultsUri,
  toCsv,
} from '../../charts/chart-resource.js';
import { chartFor } from '../../charts/chart-spec.js';
import { CHART_VIEW_MIME, CHART_VIEW_URI, chartViewPage } from '../../charts/chart-view.js';
import { ArgumentError, MarqueeError } from '../../errors.js';
import { redactDeep } from '../../guard/redact.js';
import { neutralise, neutraliseDeep } from '../../guard/untrusted-text.js';
import type { AuditLog, Outcome } from '../../observe/audit-log.js';
import { CallTrace, callLabel, inStage, type LISTINGS, type RequestTrace } from '../../observe/call-trace.js';
import type { CompiledQuery } from '../../semantic/compiled-query.js';
import { closest, unknownNameMessage } from '../../semantic/did-you-mean.js';
import { visibleDimensions } from '../../semantic/plan-query.js';
import type { SavedPrompt, SemanticLayer, Tool } from '../../semantic/semantic-layer.js';
import { dayIn, resolveNamedPeriod } from '../../semantic/time-range.js';
import type { DataState } from '../../warehouse/data-version.js';
import { CATALOG } from '../catalog.js';
import {
  type EntityTemplate,
  entityFields,
  entityOf,
  entityPlan,
  entitySearchPlan,
  MAX_COMPLETIONS,
  offeredEntities,
} from '../entities.js';
import { periodChoices, promptSteps, promptText, promptValues } from '../prompts.js';
import {
  CATALOGUE_TEMPLATES,
  type Catalogue,
  catalogueFor,
  catalogueTarget,
  describeDimension,
  describeMetric,
} from '../semantic-catalogue.js';
import type { Caller } from './analytics-service.js';
import type { pageSchema } from './common-args.js';
import type { Dependencies } from './context.js';
import type { CursorCodec } from './cursor.js';
import type { AnyToolDefinition, Call, ToolPlan } from './definition.js';
import { type Execution, Executor } from './executor.js';
import { factsFor } from './facts.js';
import { formatTable } from './format.js';
import { describePrivacy, type Privacy, privacySchema } from './privacy-note.js';
import { toolErrorText } from './tool-error.js';
import { validateArguments } from './validate-arguments.js';

/** What a tool call answers, before any protocol wraps it. */
export interface ToolResponse {
  readonly isError: boolean;
  readonly texts: readonly string[];
  readonly structured?: Record<string, unknown> | undefined;
  /** The signed token of the answer's chart (marquee://charts/{token}), recomputed for whoever reads it. */
  readonly chart?: string | undefined;
  /** The token of every row of the answer (marquee://results/{token}.csv), when a page does not hold them all. */
  readonly results?: string | undefined;
}

/** What a resource read returns: text (JSON, SVG) or a binary blob (PNG), base64. */
export type ResourceContent =
  | { readonly uri: string; readonly mimeType: string; readonly text: string }
  | { readonly uri: string; readonly mimeType: string; readonly blob: string };

/** A paginated answer's page, as tools report it (some also count every row). */
type PageInfo = z.infer<typeof pageSchema> & { readonly total_rows?: number };

/** The summary line of an answer with more rows than its page: how many, and the link to every row. */
function allRowsLine(page: PageInfo, uri: string): string {
  const total =
    page.total_rows === undefined
      ? `More rows than this page (${page.returned} from row ${page.offset + 1})`
      : `${page.total_rows.toLocaleString('en-US')} rows in ${Math.ceil(page.total_rows / page.limit)} pages of ${page.limit}; this is rows ${page.offset + 1} to ${page.offset + page.returned}`;
  return `${total}. Every row, in one file: ${uri} (or .json); give that link rather than paging.`;
}

/** Whether an answer came from the cache, and when the data it was computed from was last written. */
const freshnessSchema = z.object({
  cached: z.boolean(),
  /** When the newest data of the tables it reads was written (ISO, UTC); null when the engine cannot say. */
  data_as_of: z.string().nullable(),
});
type Freshness = z.infer<typeof freshnessSchema>;

/** How the summary's last line (how fresh the answer is) begins. */
export const FRESHNESS_LEAD = 'Data last loaded';

/** The summary's last line: how fresh the answer is. */
function freshnessLine(freshness: Freshness): string {
  const loaded =
    freshness.data_as_of === null
      ? 'at an unknown time'
      : `${freshness.data_as_of.slice(0, 16).replace('T', ' ')} UTC`;
  return `${FRESHNESS_LEAD} ${loaded}${freshness.cached ? '; answer from the cache' : ''}.`;
}

/** Each kept answer's cached form, made once: every hit hands out the same object (see `guardedOf`). */
const CACHED_FORMS = new WeakMap<Done<ToolResponse>, Done<ToolResponse>>();

/** A kept answer as a later asker gets it: marked as from the cache, in its summary and structured answer. */
function asCached(done: Done<ToolResponse>): Done<ToolResponse> {
  let form = CACHED_FORMS.get(done);
  if (form === undefined) {
    form = markCached(done);
    CACHED_FORMS.set(done, form);
  }
  return form;
}

function markCached(done: Done<ToolResponse>): Done<ToolResponse> {
  const structured = done.result.structured;
  const freshness = structured?.freshness as Freshness | undefined;
  if (structured === undefined || freshness === undefined) return { ...done, cached: true };
  const now: Freshness = { ...freshness, cached: true };
  const before = freshnessLine(freshness);
  const summary = String(structured.summary);
  const marked = summary.endsWith(before)
    ? `${summary.slice(0, -before.length)}${freshnessLine(now)}`
    : summary;
  const [, ...tables] = done.result.texts;
  return {
    ...done,
    cached: true,
    result: {
      ...done.result,
      texts: [marked, ...tables],
      structured: { ...structured, summary: marked, freshness: now },
    },
  };
}

/** The choices a typed text completes to: those starting with it, else those containing it (case aside). */
function matching(choices: readonly string[], typed: string): string[] {
  const needle = typed.trim().toLowerCase();
  const starting = choices.filter((choice) => choice.toLowerCase().startsWith(needle));
  return starting.length > 0 ? starting : choices.filter((choice) => choice.toLowerCase().includes(needle));
}

/** Most rows a result export holds. */
const MAX_EXPORT_ROWS = 100_000;
/** A call answered again from a link: where it starts, the day its periods resolve against, and how many rows. */
interface Pinned {
  readonly offset: number;
  readonly anchor: string | undefined;
  readonly limit?: number | undefined;
}
/** Failures that mean "not for this reader" (not a fault): a link that fails so is not found. */
const REFUSALS = new Set(['access_denied', 'too_small', 'not_found', 'unknown_tool', 'invalid_argument']);

/** Every string value neutralised and redacted, one by one: for files, whose text must not be rewritten whole. */
function guardValues<T>(value: T): T {
  return redactDeep(neutraliseDeep(value)).value;
}
/** Most values a dimension's catalogue entry lists. */
const MAX_CATALOGUE_VALUES = 200;
/** Most values a filter's description lists: a longer list is for did-you-mean, not for reading. */
const LISTED_VALUES = 12;
/** A value a description may carry: a short plain name (letters, digits, spaces and a little punctuation). */
const PLAIN_NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.&+-]{0,39}$/u;

/** A tool a caller is offered: its definition, its binding, and its schemas for the caller's policy. */
export interface OfferedTool {
  readonly definition: AnyToolDefinition;
  readonly binding: Tool;
  readonly input: z.ZodObject;
  readonly output: z.ZodObject;
  readonly description: string;
}

/** A tool name the caller cannot call (unknown, unbound or outside its scopes): a protocol error after audit. */
export class UnknownToolError extends MarqueeError {
  constructor(name: string, offered: readonly string[]) {
    super('unknown_tool', `${unknownNameMessage('tool', name, offered)}`);
  }
}

/** A resource that does not exist for the caller: a protocol error after audit. */
export class NotFoundError extends MarqueeError {
  readonly uri: string;
  constructor(uri: string, message: string) {
    super('not_found', message);
    this.uri = uri;
  }
}

/** How one kind of answer passes the door: how it is redacted and hashed, and what a failure becomes. */
interface AnswerKind<T> {
  /** The answer neutralised and redacted, with the count of redactions. */
  readonly guard: (answer: T) => { value: T; count: number };
  readonly hash: (answer: T) => unknown;
  /** The answer a failure becomes; throwing instead makes it a protocol error (after it is audited). */
  readonly failure: (error: unknown) => T;
}

/** An answer as it leaves the door: guarded, with its redaction count and its audit hash. */
interface Guarded<T> {
  readonly value: T;
  readonly count: number;
  readonly hash: string;
}

/** Cached answers as the door passed them: by guard, by answer object; their hashes by audit log. */
const PASSED = new WeakMap<
  object,
  WeakMap<object, { value: unknown; count: number; hashes: WeakMap<AuditLog, string> }>
>();

/**
 * An answer through its kind's guard, and its audit hash. A cached answer is the same object at every hit
 * (`asCached` keeps one form per entry), and guarding is a function of the answer alone: it is guarded and
 * hashed once, and later hits reuse both. Every other answer is guarded afresh.
 */
function guardedOf<T>(kind: AnswerKind<T>, result: T, audit: AuditLog, cached: boolean): Guarded<T> {
  if (!cached || typeof result !== 'object' || result === null) {
    const guarded = kind.guard(result);
    return { ...guarded, hash: audit.hash(kind.hash(guarded.value)) };
  }
  let byAnswer = PASSED.get(kind.guard);
  if (byAnswer === undefined) {
    byAnswer = new WeakMap();
    PASSED.set(kind.guard, byAnswer);
  }
  let passed = byAnswer.get(result);
  if (passed === undefined) {
    passed = { ...kind.guard(result), hashes: new WeakMap() };
    byAnswer.set(result, passed);
  }
  const value = passed.value as T;
  let hash = passed.hashes.get(audit);
  if (hash === undefined) {
    hash = audit.hash(kind.hash(value));
    passed.hashes.set(audit, hash);
  }
  return { value, count: passed.count, hash };
}

interface Done<T> {
  readonly result: T;
  readonly rows: number;
  readonly suppressedGroups: number;
  /** Whether the answer came from the cache (audited). */
  readonly cached?: boolean;
  /** A tool answer's table (this page), for result exports; never part of what a client is sent. */
  readonly table?: { readonly columns: readonly string[]; readonly rows: readonly Record<string, unknown>[] };
}

const MAX_AUDITED_NAME = 100;
/** Schemas are costly to build per request, and a policy's hidden names must not appear in its schemas. */
const schemas = new WeakMap<SemanticLayer, Map<string, { input: z.ZodObject; output: z.ZodObject }>>();

/**
 * The one door every answer leaves through, for one caller: rate limits, argument validation, the tool's plan,
 * its execution under the privacy rules, its analysis and summary, then neutralisation and redaction of every
 * string, and exactly one audit record, whatever happened (refusals, unknown tools and bad arguments included).
 */
export class Door {
  private readonly executor: Executor;
  private resolved: Caller | MarqueeError | undefined;
  private offered: OfferedTool[] | undefined;

  constructor(
    private readonly deps: Dependencies,
    readonly identity: Identity,
    /** Answer afresh rather than from the cache (the fresh answer is kept for the next asker). */
    private readonly refresh = false,
    /** What the transport knew of the request: the caller's trace context, the token check's time. */
    private readonly request: RequestTrace = {},
  ) {
    this.executor = new Executor(deps.service);
  }

  private get layer(): SemanticLayer {
    return this.deps.service.layer;
  }

  /** The caller with its policy; a caller whose roles have no policy is refused. */
  private caller(): Caller {
    if (this.resolved === undefined) {
      try {
        this.resolved = this.deps.service.caller(this.identity);
      } catch (error) {
        if (!(error instanceof MarqueeError)) throw error;
        this.resolved = error;
      }
    }
    if (this.resolved instanceof MarqueeError) throw this.resolved;
    return this.resolved;
  }

  /**
   * The values a tool's filters take, for their descriptions: of each filter whose visible dimensions are all
   * enumerable, the values the caller can see, when there are few (at most `LISTED_VALUES`) and every one reads
   * as a plain name that is not instruction-like (warehouse text goes into no description otherwise). Only filters that qualify are keyed.
   */
  async filterChoices(tool: OfferedTool): Promise<Record<string, string[]>> {
    const caller = this.caller();
    const choices: Record<string, string[]> = {};
    for (const name of Object.keys(tool.binding.filters)) {
      const dimensions = visibleDimensions(tool.binding, name, caller.policy);
      if (dimensions.length === 0) continue;
      if (!dimensions.every((dimension) => this.layer.dimensions.get(dimension)?.enumerable === true))
        continue;
      const values = await this.filterValues(caller, tool.binding, name);
      if (values.length === 0 || values.length > LISTED_VALUES) continue;
      if (values.every((value) => PLAIN_NAME.test(value) && neutralise(value) === value))
        choices[name] = values;
    }
    return choices;
  }

  /** The tools this caller may see and call: bound in the layer, within its scopes, offered to its policy. */
  tools(): OfferedTool[] {
    this.offered ??= this.offer();
    return this.offered;
  }

  private offer(): OfferedTool[] {
    let caller: Caller;
    try {
      caller = this.caller();
    } catch {
      return [];
    }
    const granted = new Set(this.identity.scopes);
    const offered: OfferedTool[] = [];
    for (const definition of CATALOG) {
      const binding = this.layer.tools.get(definition.name);
      if (binding === undefined || !granted.has(definition.scope)) continue;
      const context = { layer: this.layer, binding, policy: caller.policy };
      if (definition.offered?.(context) === false) continue;
      offered.push({
        definition,
        binding,
        ...this.schemasOf(definition, binding, caller),
        description: definition.description(binding),
      });
    }
    return offered;
  }

  private schemasOf(definition: AnyToolDefinition, binding: Tool, caller: Caller) {
    let byKey = schemas.get(this.layer);
    if (byKey === undefined) {
      byKey = new Map();
      schemas.set(this.layer, byKey);
    }
    const key = `${definition.name}|${caller.policy.name}`;
    let built = byKey.get(key);
    if (built === undefined) {
      built = {
        input: definition.input({ layer: this.layer, binding, policy: caller.policy }),
        output: z
          .object({ summary: z.string() })
          .extend(definition.output.shape)
          .extend({ privacy: privacySchema, freshness: freshnessSchema }),
      };
      byKey.set(key, built);
    }
    return built;
  }

  /** The entities this caller may read and complete: of models its tools reach, keys its policy shows. */
  entities(): EntityTemplate[] {
    const tools = this.tools();
    if (tools.length === 0) return [];
    const models = new Set(tools.flatMap((tool) => this.layer.reachableModels(tool.binding.model)));
    return offeredEntities(this.layer, this.caller().policy, models);
  }

  /**
   * Calls a tool (`refresh`: not from the cache). Unknown tools throw UnknownToolError (a protocol error);
   * every other failure is a tool error.
   */
  call(name: string, args: unknown, refresh = this.refresh, traceparent?: string): Promise<ToolResponse> {
    const offered = this.offeredTool(name);
    const audited = offered === undefined ? name.slice(0, MAX_AUDITED_NAME) : name;
    return this.through(
      audited,
      offered === undefined ? '(unknown tool)' : name,
      args,
      TOOL_ANSWER(name),
      async () => {
        this.caller();
        if (offered === undefined) throw this.unknown(name);
        return this.answer(offered, args, undefined, refresh);
      },
      // The call's own trace context (`_meta.traceparent`, over any transport) before the HTTP request's.
      traceparent === undefined ? this.request : { ...this.request, traceparent },
    );
  }

  /** The plan a call would run (SQL and parameters of every query, privacy checks included), not run. */
  async explain(name: string, args: unknown): Promise<Record<string, unknown>> {
    const offered = this.offeredTool(name);
    if (offered === undefined) throw this.unknown(name);
    const { call, caller } = this.prepare(offered, args);
    const plan = await offered.definition.plan(call);
    const queries: Record<string, CompiledQuery> = this.executor.explain(
      plan.queries,
      caller,
      plan.filters,
      await this.deps.service.usableRollups(),
    );
    return { tool: name, queries, ...(plan.followUp === undefined ? {} : { follow_up: plan.followUp }) };
  }

  /**
   * Audits a request the protocol refused before the door saw it (malformed parameters), and counts it against
   * the rate limits: no request goes unrecorded.
   */
  async refused(method: string, params: unknown, code = 'invalid_request'): Promise<void> {
    const named = (params as { name?: unknown } | undefined)?.name;
    const name =
      method === 'tools/call' && typeof named === 'string' ? named.slice(0, MAX_AUDITED_NAME) : method;
    await this.through(name, '(invalid request)', params ?? null, REFUSED, async () => {
      throw new MarqueeError(code, `The ${method} request is malformed`);
    }).catch(() => undefined);
  }

  /** A tool this caller cannot call, with did-you-mean among those it can. */
  private unknown(name: string): UnknownToolError {
    return new UnknownToolError(
      name,
      this.tools().map((tool) => tool.definition.name),
    );
  }

  /**
   * A listing (`tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`; `list` builds it):
   * audited and rate limited like every request (each its own budget within the tenant's), so a token holder
   * cannot flood the audit with listings.
   */
  listing<T>(method: (typeof LISTINGS)[number], list: () => Promise<T[]> | T[]): Promise<T[]> {
    return this.through(method, method, null, passThrough<T[]>(), async () => {
      const items = await list();
      return { result: items, rows: items.length, suppressedGroups: 0 };
    });
  }

  /** The metrics and dimensions this caller may use, with the tools that take each. */
  catalogue(): Catalogue {
    return catalogueFor(
      this.layer,
      this.tools().map((tool) => tool.binding),
      this.caller().policy,
    );
  }

  /** Reads a resource by URI (a chart, every row of an answer, the semantic catalogue, an entity); a URI naming nothing this caller may read throws NotFoundError (after audit). */
  read(uri: string): Promise<ResourceContent> {
    if (uri === CHART_VIEW_URI) return this.readChartView();
    const chart = chartTarget(uri);
    if (chart !== undefined) return this.readChart(uri, chart);
    const results = resultsTarget(uri);
    if (results !== undefined) return this.readResults(uri, results);
    const target = catalogueTarget(uri);
    if (target !== undefined) return this.readCatalogue(uri, target);
    const found = entityOf(uri, this.entities());
    const name = found === undefined ? 'resource:(unknown)' : `resource:${found.template.resource.name}`;
    return this.through(name, name, { uri }, RESOURCE_ANSWER, async () => {
      const caller = this.caller();
      if (found === undefined)
        throw new NotFoundError(uri, `No resource ${JSON.stringify(uri.slice(0, 200))}`);
      const { template, key } = found;
      const execution = await this.executor.run({ entity: { query: entityPlan(template, key) } }, caller, []);
      const row = execution.results.rows('entity')[0];
      if (row === undefined)
        throw new NotFoundError(uri, `No ${template.resource.name} ${JSON.stringify(key.slice(0, 200))}`);
      const fields = entityFields(this.layer, template, row);
      return {
        result: { uri, mimeType: 'application/json', text: JSON.stringify(fields) },
        rows: 1,
        suppressedGroups: execution.withheldGroups,
      };
    });
  }

  /** The saved prompts this caller may use: those whose every step calls a tool it is offered. */
  prompts(): SavedPrompt[] {
    const offered = new Set(this.tools().map((tool) => tool.definition.name));
    return [...this.layer.prompts.values()].filter((prompt) =>
      prompt.steps.every((step) => offered.has(step.tool)),
    );
  }

  /**
   * A saved prompt with the caller's values in place: each value checked (an entity must exist for the caller,
   * a period must read as one), and each step's arguments validated as the tool will validate them. An unknown
   * prompt throws NotFoundError (after audit).
   */
  getPrompt(name: string, given: Readonly<Record<string, string>>): Promise<PromptAnswer> {
    const prompt = this.prompts().find((candidate) => candidate.name === name);
    const audited = `prompt:${prompt === undefined ? '(unknown)' : name}`;
    return this.through(audited, audited, { name, arguments: given }, PROMPT_ANSWER, async () => {
      const caller = this.caller();
      if (prompt === undefined)
        throw new NotFoundError(
          `prompt:${name.slice(0, 200)}`,
          unknownNameMessage(
            'prompt',
            name.slice(0, 200),
            this.prompts().map((candidate) => candidate.name),
          ),
        );
      const values = promptValues(prompt, given);
      for (const [argument, value] of Object.entries(values))
        await this.checkPromptValue(caller, prompt, argument, String(value));
      const steps = promptSteps(prompt, values);
      steps.forEach((step, index) => {
        const offered = this.offeredTool(step.tool) as OfferedTool;
        try {
          validateArguments(offered.input, step.arguments);
        } catch (error) {
          if (!(error instanceof ArgumentError)) throw error;
          throw new ArgumentError(error.field, `step ${index + 1} (${step.tool}): ${error.message}`);
        }
      });
      return {
        result: { description: prompt.description, text: promptText(prompt, values, steps) },
        rows: 0,
        suppressedGroups: 0,
      };
    });
  }

  /** Completes a metric's or dimension's name in a catalogue template, among those the caller may use. */
  private completeCatalogue(
    template: (typeof CATALOGUE_TEMPLATES)[keyof typeof CATALOGUE_TEMPLATES],
    argument: string,
    value: string,
  ): Promise<string[]> {
    const name = `resource:semantic:complete`;
    return this.through(
      name,
      name,
      { uriTemplate: template.uriTemplate, argument, value },
      COMPLETION_ANSWER,
      async () => {
        this.caller();
        if (argument !== template.variable)
          throw new NotFoundError(
            template.uriTemplate,
            `No argument ${JSON.stringify(argument.slice(0, 200))}`,
          );
        const { metrics, dimensions } = this.catalogue();
        const names = [...(template.variable === 'metric' ? metrics : dimensions).keys()];
        const values = matching(names, value).slice(0, MAX_COMPLETIONS);
        return { result: values, rows: values.length, suppressedGroups: 0 };
      },
    );
  }

  /** Completes a saved prompt's argument: periods, entity keys (from the id or the name), or a filter's values. */
  completePrompt(name: string, argument: string, value: string): Promise<string[]> {
    const prompt = this.prompts().find((candidate) => candidate.name === name);
    const audited = `prompt:${prompt === undefined ? '(unknown)' : name}:complete`;
    return this.through(audited, audited, { name, argument, value }, COMPLETION_ANSWER, async () => {
      const caller = this.caller();
      if (prompt === undefined || !(argument in prompt.arguments))
        throw new NotFoundError(
          `prompt:${name.slice(0, 200)}`,
          `No prompt argument ${JSON.stringify(argument.slice(0, 200))}`,
        );
      const complete = prompt.arguments[argument]?.complete;
      let values: string[] = [];
      if (complete === 'period')
        values = matching(periodChoices(await this.anchorFor(caller, prompt)), value);
      else if (complete !== undefined && 'entity' in complete) {
        const template = this.entityNamed(complete.entity);
        if (template !== undefined) values = await this.completeKey(caller, template, value).catch(() => []);
      } else if (complete !== undefined)
        values = matching(
          await this.filterValues(caller, this.layer.tools.get(complete.tool), complete.filter),
          value,
        );
      values = values.slice(0, MAX_COMPLETIONS);
      return { result: values, rows: values.length, suppressedGroups: 0 };
    });
  }

  /** The last complete day of data of a prompt's first step whose tool reads periods (today when none does). */
  private async anchorFor(caller: Caller, prompt: SavedPrompt): Promise<string> {
    for (const step of prompt.steps) {
      const binding = this.layer.tools.get(step.tool);
      if (binding?.time_dimension !== undefined) return this.deps.service.anchor(caller, binding);
    }
    return dayIn(this.layer.timeZone, new Date());
  }

  /** The entity template of a resource this caller is offered. */
  private entityNamed(resource: string): EntityTemplate | undefined {
    return this.entities().find((candidate) => candidate.resource.name === resource);
  }

  /** Every value a tool's filter takes that the caller can see (countries and regions, say). */
  private async filterValues(caller: Caller, binding: Tool | undefined, filter: string): Promise<string[]> {
    if (binding === undefined) return [];
    const lists = await Promise.all(
      visibleDimensions(binding, filter, caller.policy).map((dimension) =>
        this.deps.service.values(caller, binding, dimension),
      ),
    );
    return [...new Set(lists.flat())];
  }

  /**
   * A prompt argument's value checked against what completes it: a period that reads as one, an entity that
   * exists for the caller, a value the filter takes (case aside); otherwise an ArgumentError with did-you-mean.
   */
  private async checkPromptValue(
    caller: Caller,
    prompt: SavedPrompt,
    argument: string,
    value: string,
  ): Promise<void> {
    const complete = prompt.arguments[argument]?.complete;
    if (complete === undefined) return;
    if (complete === 'period') {
      try {
        resolveNamedPeriod(value, await this.anchorFor(caller, prompt));
      } catch (error) {
        if (error instanceof MarqueeError) throw new ArgumentError(argument, `${argument}: ${error.message}`);
        throw error;
      }
      return;
    }
    if ('entity' in complete) {
      const template = this.entityNamed(complete.entity);
      const found =
        template !== undefined &&
        (
          await this.executor.run({ entity: { query: entityPlan(template, value) } }, caller, [])
        ).results.rows('entity').length > 0;
      if (found) return;
      // What completing the text offers (by id or by name), else the id closest to it.
      const offered =
        template === undefined ? [] : await this.completeKey(caller, template, value).catch(() => []);
      const nearest =
        template === undefined || offered.length > 0
          ? undefined
          : closest(value, await this.entityKeys(caller, template).catch(() => []));
      const suggestions = nearest === undefined ? offered.slice(0, 5) : [nearest];
      const hint =
        suggestions.length === 0
          ? ''
          : `; did you mean ${suggestions.map((key) => JSON.stringify(key)).join(', ')}?`;
      throw new ArgumentError(argument, `${argument}: no ${complete.entity} ${JSON.stringify(value)}${hint}`);
    }
    const values = await this.filterValues(caller, this.layer.tools.get(complete.tool), complete.filter);
    if (values.some((candidate) => candidate.toLowerCase() === value.toLowerCase())) return;
    throw new ArgumentError(argument, `${argument}: ${unknownNameMessage('value', value, values)}`);
  }

  /**
   * Reads a chart: the call its token carries is answered again for this reader (its tenant, scopes and
   * policy), from its first row (as many rows as the caller asked for, else the widest page), and the answer
   * charted, neutralised and redacted value by value before it is drawn.
   */
  private readChart(uri: string, target: ChartTarget): Promise<ResourceContent> {
    return this.through('resource:chart', 'resource:chart', { uri }, FILE_ANSWER, async () => {
      const link = this.linkedCall(uri, target.token, 'chart');
      const done = await link.answer(link.args.limit === undefined ? link.widest : undefined);
      const content = await inStage('chart', async () =>
        drawChart(uri, guardValues(chartFor(link.tool, done.result.structured ?? {})), target.variant),
      );
      return { result: content, rows: done.rows, suppressedGroups: done.suppressedGroups };
    });
  }

  /**
   * Reads every row of an answer as CSV or JSON, in one run of the call its token carries (answered again for
   * this reader, as readChart does), each value neutralised and redacted. More rows than an export holds is an
   * error naming the count, never a file cut short.
   */
  private readResults(uri: string, target: ResultsTarget): Promise<ResourceContent> {
    return this.through('resource:results', 'resource:results', { uri }, FILE_ANSWER, async () => {
      const link = this.linkedCall(uri, target.token, 'result');
      const done = await link.answer(MAX_EXPORT_ROWS);
      // An answer links every row in a file exactly when its page does not hold them all.
      if (done.result.results !== undefined)
        throw new ArgumentError(
          'limit',
          `This answer has more than ${MAX_EXPORT_ROWS.toLocaleString('en-US')} rows, more than one file holds: narrow the question (a shorter period, fewer breakdowns)`,
        );
      const columns = done.table?.columns ?? [];
      const rows = guardValues(done.table?.rows ?? []);
      const text = target.format === 'csv' ? toCsv(columns, rows) : JSON.stringify({ columns, rows });
      const mimeType = target.format === 'csv' ? 'text/csv' : 'application/json';
      return { result: { uri, mimeType, text }, rows: rows.length, suppressedGroups: done.suppressedGroups };
    });
  }

  /**
   * The call a chart or result link carries, for this reader: its tool (which the reader must be offered), its
   * arguments, and the call answered again under the reader's identity from its first row. A token another
   * deployment signed, an expired one, or a call the reader may not make (a refused argument, a policy that
   * does not reach the rows) is not found; any other failure (the warehouse) stays what it is.
   */
  private linkedCall(uri: string, token: string, what: string) {
    this.caller();
    const missing = (why: string) => new NotFoundError(uri, `No ${what} for you at this link: ${why}`);
    const offered = this.offeredTool(this.deps.cursors.toolOf(token));
    if (offered === undefined) throw missing('it names no tool you may call');
    let state: ReturnType<CursorCodec['decode']>;
    try {
      state = this.deps.cursors.decode(token, offered.definition.name);
    } catch (error) {
      throw missing(
        error instanceof MarqueeError ? error.message.replace(/^cursor: /, '') : 'it is malformed',
      );
    }
    const widest = (
      offered.input.shape.limit as { unwrap?: () => { maxValue?: number } } | undefined
    )?.unwrap?.().maxValue;
    return {
      tool: offered.definition.name,
      args: state.args,
      widest,
      /** The call from its first row, `limit` rows at once when given (past the schema's page: an export). */
      answer: async (limit?: number): Promise<Done<ToolResponse>> => {
        try {
          return await this.answer(offered, state.args, {
            offset: 0,
            anchor: state.anchor || undefined,
            limit,
          });
        } catch (error) {
          if (error instanceof ArgumentError || (error instanceof MarqueeError && REFUSALS.has(error.code)))
            throw missing(error.message);
          throw error;
        }
      },
    };
  }

  /** The tool of that name this caller is offered. */
  private offeredTool(name: string | undefined): OfferedTool | undefined {
    return this.tools().find((tool) => tool.definition.name === name);
  }

  /** The MCP Apps chart page: the same for every reader (it holds no data), passed through the door for audit. */
  private readChartView(): Promise<ResourceContent> {
    return this.through(
      'resource:chart-view',
      'resource:chart-view',
      { uri: CHART_VIEW_URI },
      FILE_ANSWER,
      async () => {
        this.caller();
        const text = await chartViewPage();
        if (text === undefined)
          throw new NotFoundError(CHART_VIEW_URI, 'The chart page was not built: run npm run build');
        return {
          result: { uri: CHART_VIEW_URI, mimeType: CHART_VIEW_MIME, text },
          rows: 0,
          suppressedGroups: 0,
        };
      },
    );
  }

  /** Reads the semantic catalogue: the lists, or one metric or dimension (with its values when it has a short list). */
  private readCatalogue(
    uri: string,
    target: NonNullable<ReturnType<typeof catalogueTarget>>,
  ): Promise<ResourceContent> {
    return this.through('resource:semantic', 'resource:semantic', { uri }, FILE_ANSWER, async () => {
      const caller = this.caller();
      const { metrics, dimensions } = this.catalogue();
      const answer = (body: unknown, rows: number) => ({
        result: { uri, mimeType: 'application/json', text: JSON.stringify(guardValues(body)) },
        rows,
        suppressedGroups: 0,
      });
      if (!('name' in target)) {
        if (target.kind === 'metrics')
          return answer(
            [...metrics.values()].map(({ metric, tools }) => describeMetric(metric, tools)),
            metrics.size,
          );
        return answer(
          [...dimensions.values()].map(({ dimension, tools }) => describeDimension(dimension, tools)),
          dimensions.size,
        );
      }
      const missing = () =>
        new NotFoundError(
          uri,
          unknownNameMessage(target.kind, target.name.slice(0, 200), [
            ...(target.kind === 'metric' ? metrics : dimensions).keys(),
          ]),
        );
      if (target.kind === 'metric') {
        const found = metrics.get(target.name);
        if (found === undefined) throw missing();
        return answer(describeMetric(found.metric, found.tools), 1);
      }
      const found = dimensions.get(target.name);
      if (found === undefined) throw missing();
      const described = describeDimension(found.dimension, found.tools);
      if (!found.dimension.enumerable) return answer(described, 1);
      const binding = this.layer.tools.get(found.tools[0] ?? '') as Tool;
      const values = await this.deps.service.values(caller, binding, found.dimension.name);
      return answer(
        { ...described, values: values.slice(0, MAX_CATALOGUE_VALUES), values_total: values.length },
        values.length,
      );
    });
  }

  /** Completes an entity key as a person types: keys starting with the text, else keys whose name matches it. */
  complete(uriTemplate: string, argument: string, value: string): Promise<string[]> {
    const named = Object.values(CATALOGUE_TEMPLATES).find(
      (candidate) => candidate.uriTemplate === uriTemplate,
    );
    if (named !== undefined) return this.completeCatalogue(named, argument, value);
    const template = this.entities().find((candidate) => candidate.uriTemplate === uriTemplate);
    const name =
      template === undefined ? 'resource:(unknown):complete' : `resource:${template.resource.name}:complete`;
    return this.through(name, name, { uriTemplate, argument, value }, COMPLETION_ANSWER, async () => {
      const caller = this.caller();
      if (template === undefined || argument !== template.resource.key)
        throw new NotFoundError(
          uriTemplate,
          `No resource template ${JSON.stringify(uriTemplate.slice(0, 200))}`,
        );
      const values = await this.completeKey(caller, template, value).catch((error: unknown) => {
        // A caller whose policy cannot apply to this entity gets no suggestions, not an error.
        if (error instanceof MarqueeError && error.code === 'access_denied') return [];
        throw error;
      });
      return { result: values, rows: values.length, suppressedGroups: 0 };
    });
  }

  /** Every key of an entity the caller can see. */
  private async entityKeys(caller: Caller, template: EntityTemplate): Promise<string[]> {
    const { resource } = template;
    return (
      await this.deps.service.distinct(caller, { name: `resource:${resource.name}`, model: resource.model }, [
        resource.key,
      ])
    )
      .map((row) => String(row[resource.key] ?? ''))
      .filter((key) => key !== '');
  }

  private async completeKey(caller: Caller, template: EntityTemplate, typed: string): Promise<string[]> {
    const { resource } = template;
    const needle = typed.trim().toLowerCase();
    const keys = await this.entityKeys(caller, template);
    const found = keys.filter((key) => key.toLowerCase().startsWith(needle));
    // Only when the text is no key prefix: then it is part of a name (or a typo of one).
    const search =
      needle.length >= 2 && found.length === 0 ? entitySearchPlan(resource, typed.trim()) : undefined;
    if (search !== undefined) {
      for (const row of await this.deps.service.run(search, caller)) {
        const key = String(row[resource.key] ?? '');
        if (key !== '' && !found.includes(key)) found.push(key);
      }
    }
    return found.slice(0, MAX_COMPLETIONS);
  }

  /** Arguments validated, a cursor resumed, required arguments checked: the call a tool plans. */
  private prepare(offered: OfferedTool, raw: unknown, pinned?: Pinned): { call: Call; caller: Caller } {
    const caller = this.caller();
    const { definition, binding } = offered;
    const validated = validateArguments(offered.input, raw);
    const resumed =
      pinned !== undefined
        ? {
            args: pinned.limit === undefined ? validated : { ...validated, limit: pinned.limit },
            offset: pinned.offset,
            anchor: pinned.anchor,
          }
        : definition.paginated === true
          ? this.deps.cursors.resume(definition.name, validated)
          : { args: validated, offset: 0, anchor: undefined };
    for (const field of definition.required ?? []) {
      const value = resumed.args[field];
      if (value === undefined || (typeof value === 'string' && value.trim() === ''))
        throw new ArgumentError(field, `${field} is required (only a call with a cursor may leave it out)`);
    }
    const call: Call = {
      args: resumed.args,
      offset: resumed.offset,
      anchor: resumed.anchor,
      binding,
      layer: this.layer,
      policy: caller.policy,
      facts: factsFor(this.deps.service, caller),
      nextCursor: (offset, anchor) =>
        this.deps.cursors.encode({ tool: definition.name, args: resumed.args, anchor, offset }),
    };
    return { call, caller };
  }

  /**
   * One call's answer: from the cache when the same call (its arguments, page and anchor) was answered for the
   * same tenant and policy under the same layer and data, and is not past its model's TTL; else computed (once
   * among concurrent askers) and kept. The answer says which, and as of when the data was written.
   */
  private async answer(
    offered: OfferedTool,
    raw: unknown,
    pinned?: Pinned,
    refresh = this.refresh,
  ): Promise<Done<ToolResponse>> {
    const { call, caller } = this.prepare(offered, raw, pinned);
    const service = this.deps.service;
    // A call without an anchor resolves its periods against the data's last day, or yesterday: today's date.
    const today = call.anchor === undefined ? dayIn(this.layer.timeZone, new Date()) : null;
    const got = await service.cached(
      [
        'answer',
        offered.definition.name,
        service.scopeKey(caller),
        call.args,
        call.offset,
        call.anchor ?? null,
        today,
      ],
      service.ttlOfTool(offered.binding),
      // Asked afresh, every warehouse read of the call is afresh too.
      (data) => this.compute(offered, call, refresh ? { ...caller, refresh } : caller, data),
      refresh,
    );
    return got.cached ? asCached(got.value) : got.value;
  }

  /** Plans, runs (stage by stage, under the privacy rules), analyses and summarises one call. */
  private async compute(
    offered: OfferedTool,
    call: Call,
    caller: Caller,
    data: DataState,
  ): Promise<Done<ToolResponse>> {
    const { definition } = offered;
    let drops: Execution['drops'] = new Map();
    let plan: ToolPlan;
    let execution: Execution;
    // A later stage that must leave out a list-filter value starts the call again without it.
    for (;;) {
      plan = await inStage('plan', async () => definition.plan(call));
      execution = await this.executor.run(plan.queries, caller, plan.filters, drops);
      const current = { plan, execution };
      const later = await inStage('plan', async () =>
        definition.followUp?.(current.plan, current.execution.results, call),
      );
      if (later !== undefined) {
        const next = await this.executor.run(later, caller, plan.filters, execution.drops, execution);
        if (next.restart) {
          drops = next.drops;
          continue;
        }
        execution = next;
      }
      break;
    }
    const planned = plan;
    const executed = execution;
    return inStage('summarise', async () => this.summarised(offered, call, caller, data, planned, executed));
  }

  /** The answer of a call from its plan and execution: analysis, privacy note, summary, links. */
  private summarised(
    offered: OfferedTool,
    call: Call,
    caller: Caller,
    data: DataState,
    plan: ToolPlan,
    execution: Execution,
  ): Done<ToolResponse> {
    const { definition } = offered;
    const analysis = definition.analyse(plan, execution.results, call);
    const people = this.layer.models.get(offered.binding.model)?.people;
    const privacy: Privacy = {
      min_group_size:
        caller.policy.minGroupSize === undefined || typeof people !== 'string'
          ? null
          : { k: caller.policy.minGroupSize, people },
      suppressed_groups: execution.withheldGroups,
      totals_suppressed: execution.totalsWithheld,
      left_out: [...execution.leftOut],
    };
    const note = describePrivacy(privacy, caller.policy.minDistinct.size > 0);
    // Chart and result links carry the call (its page and the day its periods were resolved against), not its data.
    const token = this.deps.cursors.encode({
      tool: definition.name,
      args: call.args as Record<string, unknown>,
      anchor: plan.anchor,
      offset: call.offset,
    });
    const page = (analysis.output as { page?: PageInfo }).page;
    const more = typeof page?.next_cursor === 'string';
    const freshness: Freshness = { cached: false, data_as_of: data.asOf };
    const summary = [
      definition.summarise(analysis.output, plan, call),
      ...note,
      ...(more ? [allRowsLine(page as PageInfo, resultsUri(token))] : []),
      freshnessLine(freshness),
    ].join('\n');
    const structured = { summary, ...analysis.output, privacy, freshness };
    const checked = offered.output.safeParse(structured);
    if (!checked.success)
      throw new Error(`${definition.name} answered outside its output schema: ${checked.error.message}`);
    const texts = [
      summary,
      ...(analysis.table === undefined || analysis.table.columns.length === 0
        ? []
        : [formatTable(analysis.table.columns, analysis.table.rows as Record<string, unknown>[])]),
    ];
    return {
      result: {
        isError: false,
        texts,
        structured,
        chart: token,
        ...(more ? { results: token } : {}),
      },
      rows: analysis.rows,
      suppressedGroups: execution.withheldGroups,
      ...(analysis.table === undefined
        ? {}
        : {
            table: {
              columns: analysis.table.columns,
              rows: analysis.table.rows as Record<string, unknown>[],
            },
          }),
    };
  }

  /**
   * Runs one request through the door: rate limits first, then the work, then neutralisation and redaction of
   * every string of the answer; every outcome, refused or failed included, becomes exactly one audit record.
   */
  private async through<T>(
    name: string,
    limitKey: string,
    args: unknown,
    kind: AnswerKind<T>,
    run: () => Promise<Done<T>>,
    request: RequestTrace = this.request,
  ): Promise<T> {
    const started = performance.now();
    const call = CallTrace.start(callLabel(name, this.layer.tools), request);
    let done: Done<T> | undefined;
    let result: T | undefined;
    let failure: unknown;
    let outcome: Outcome = 'ok';
    let errorClass = '';
    try {
      await this.deps.limits.consume(this.identity.tenant, limitKey);
      done = await call.run(run);
      result = done.result;
    } catch (error) {
      errorClass = error instanceof MarqueeError ? error.code : 'internal';
      outcome =
        errorClass === 'rate_limited'
          ? 'rate_limited'
          : error instanceof MarqueeError
            ? 'tool_error'
            : 'internal_error';
      try {
        result = kind.failure(error);
      } catch (thrown) {
        failure = thrown;
      }
    }
    // A question refused for what it reads keeps none of what it read: asked again, it reads (and is refused)
    // the same, rather than being answered from the statements its refused attempts left behind.
    if (errorClass === 'call_too_costly') this.deps.service.forget(call.keptKeys);
    const audit = this.deps.audit;
    const leave = call.enter('summarise');
    const guarded = result === undefined ? undefined : guardedOf(kind, result, audit, done?.cached === true);
    leave();
    call.end(outcome, errorClass);
    audit.record({
      tenant: this.identity.tenant,
      subject: this.identity.subject,
      tool: name,
      argumentHash: audit.hash(args ?? null),
      resultHash: guarded?.hash ?? '',
      rows: done?.rows ?? 0,
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      cacheHit: done?.cached === true,
      redactions: guarded?.count ?? 0,
      suppressedGroups: done?.suppressedGroups ?? 0,
      outcome,
      errorClass,
      traceId: call.traceId,
      stages: call.stages(),
      readRows: call.readRows,
      readBytes: call.readBytes,
    });
    if (guarded === undefined) throw failure;
    return guarded.value;
  }
}

/** A failure that stays one: a protocol error, after its audit record. */
const rethrow = (error: unknown): never => {
  throw error;
};

/** Tool answers: redaction counted once, on the structured answer when there is one (the text repeats it). */
const guardToolAnswer = (answer: ToolResponse): { value: ToolResponse; count: number } => {
  const response = neutraliseDeep(answer);
  const texts = redactDeep(response.texts);
  const structured = response.structured === undefined ? undefined : redactDeep(response.structured);
  return {
    value: { ...response, texts: texts.value, structured: structured?.value },
    count: structured?.count ?? texts.count,
  };
};

const TOOL_ANSWER = (tool: string): AnswerKind<ToolResponse> => ({
  guard: guardToolAnswer,
  hash: (response) => response.structured ?? response.texts,
  failure: (error) => {
    if (error instanceof UnknownToolError) throw error;
    return { isError: true, texts: [toolErrorText(error, tool)] };
  },
});

/** Answers whose every string is neutralised, then redacted (entities, prompts, completions). */
const deepAnswer = <T>(): AnswerKind<T> => ({
  guard: (result) => redactDeep(neutraliseDeep(result)),
  hash: (result) => result,
  failure: rethrow,
});

const RESOURCE_ANSWER = deepAnswer<{ uri: string; mimeType: string; text: string }>();

/** Answers the door passes as they are (nothing to guard, or guarded value by value before), failures rethrown. */
const passThrough = <T>(): AnswerKind<T> => ({
  guard: (result) => ({ value: result, count: 0 }),
  hash: (result) => result,
  failure: rethrow,
});

/** A request the protocol refused: only its audit record is kept. */
const REFUSED = passThrough<null>();

/** A saved prompt as the client gets it: its description and its text for the model. */
export interface PromptAnswer {
  readonly description: string;
  readonly text: string;
}

const PROMPT_ANSWER = deepAnswer<PromptAnswer>();

/**
 * Charts, results and the catalogue: their values were neutralised and redacted one by one before they were
 * serialised; the door does not run its patterns over the whole text, where they would run across cells and bytes.
 */
const FILE_ANSWER = passThrough<ResourceContent>();

const COMPLETION_ANSWER = deepAnswer<string[]>();
