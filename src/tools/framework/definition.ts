import type { z } from 'zod';
import type { CoarsenSpec } from '../../guard/coarsen.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import type { QueryPlan, UnitOutcomePlan } from '../../semantic/query-plan.js';
import type { ToolKind } from '../../semantic/schema.js';
import type { AccessPolicy, SemanticLayer, Tool } from '../../semantic/semantic-layer.js';
import type { Row } from '../../warehouse/warehouse.js';
import type { Facts } from './facts.js';

/**
 * One query of a plan. Grouped answers about people pass the privacy rules: their groups are suppressed
 * (primary and complementary), or, with `coarsen`, their days are merged into runs about enough people.
 */
export type PlannedQuery =
  | {
      readonly query: QueryPlan;
      readonly coarsen?: Pick<CoarsenSpec, 'along' | 'series' | 'origin'> | undefined;
    }
  | { readonly outcome: UnitOutcomePlan };

/** Everything a call would run, as a value: printed by `marquee explain`, run by the executor. */
export interface ToolPlan<D = unknown> {
  readonly queries: Readonly<Record<string, PlannedQuery>>;
  /** The call's filters as applied to every query (the door may leave out values, and says so). */
  readonly filters: readonly AppliedFilter[];
  /** The day relative periods were resolved against; page cursors carry it. */
  readonly anchor: string;
  /** The tool's own planning results (periods, metrics, ...), for its analysis. */
  readonly detail: D;
  /** What a later stage runs, which depends on this stage's results (for `marquee explain`). */
  readonly followUp?: string | undefined;
}

/** What the executor hands a tool: the rows the privacy rules let it show. */
export interface Results {
  rows(name: string): readonly Row[];
  /** Rows withheld by the privacy rules: for the tool's bookkeeping (which totals), never to be shown. */
  withheld(name: string): readonly Row[];
  /** The filters as applied, after any value was left out. */
  readonly filters: readonly AppliedFilter[];
}

/** One call, as a tool sees it: validated arguments, its binding, the caller's policy, and planning facts. */
export interface Call {
  readonly args: Readonly<Record<string, unknown>>;
  /** Where the page starts (from a cursor, else 0). */
  readonly offset: number;
  /** The anchor a cursor carries, so later pages resolve relative periods as the first did. */
  readonly anchor: string | undefined;
  readonly binding: Tool;
  readonly layer: SemanticLayer;
  readonly policy: AccessPolicy;
  readonly facts: Facts;
  /** A signed cursor for the page starting at `offset` of this same call. */
  nextCursor(offset: number, anchor: string): string;
}

/** What a tool answers: its structured output (the door adds `summary` and `privacy`) and a table page. */
export interface Analysis<O> {
  readonly output: O;
  /** Rows returned, for the audit record. */
  readonly rows: number;
  /** A page of rows for clients that only show text. */
  readonly table?: { readonly columns: readonly string[]; readonly rows: readonly object[] } | undefined;
}

/** The schemas of a tool are built from the semantic layer, for the caller's policy. */
export interface SchemaContext {
  readonly layer: SemanticLayer;
  readonly binding: Tool;
  readonly policy: AccessPolicy;
}

/**
 * A tool: what it is called and needs (scope, kind of binding), its schemas, and the three steps the door runs
 * between validation and the answer: plan (a value), analyse (protected rows → output), summarise (→ text).
 * A tool applies no rule itself: rate limits, privacy, neutralisation, redaction and audit are the door's.
 */
export interface ToolDefinition<D = unknown, O extends object = object> {
  readonly name: string;
  readonly kind: ToolKind;
  readonly scope: string;
  readonly title: string;
  /** One sentence for the server instructions: when a model should use it. */
  readonly purpose: string;
  readonly description: (binding: Tool) => string;
  readonly input: (context: SchemaContext) => z.ZodObject;
  readonly output: z.ZodObject;
  /** Arguments a call needs unless it continues from a cursor (the schema leaves them optional). */
  readonly required?: readonly string[];
  /** Whether calls page with `limit` and `cursor`. */
  readonly paginated?: boolean;
  /** Whether a caller with `policy` is offered the tool at all (default: yes). */
  readonly offered?: (context: SchemaContext) => boolean;
  plan(call: Call): Promise<ToolPlan<D>>;
  /** Queries of a later stage, planned from what the earlier stages showed; undefined when none. */
  followUp?(
    plan: ToolPlan<D>,
    results: Results,
    call: Call,
  ): Readonly<Record<string, PlannedQuery>> | undefined;
  analyse(plan: ToolPlan<D>, results: Results, call: Call): Analysis<O>;
  summarise(output: O, plan: ToolPlan<D>, call: Call): string;
}

/** A definition of any plan and output, as the catalogue holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the catalogue holds definitions of every plan and output type.
export type AnyToolDefinition = ToolDefinition<any, any>;
