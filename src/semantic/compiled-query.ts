/** SQL text with every value as a typed ClickHouse parameter (`{p0:String}`), ready to run. */
export interface CompiledQuery {
  readonly sql: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}
