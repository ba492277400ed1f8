import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, isCollection, isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { MarqueeError } from '../errors.js';
import { checkSemanticLayer } from './check-semantic-layer.js';
import { closest, quote } from './did-you-mean.js';
import {
  type AccessDef,
  SECTIONS,
  type Section,
  type SemanticFile,
  SHAPES,
  semanticFileSchema,
  type ToolKind,
} from './schema.js';
import type { SemanticLayer } from './semantic-layer.js';

/** One problem in the semantic layer, located in its file. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

/** Every problem found in the semantic layer at once; the message lists them all. */
export class SemanticLayerError extends MarqueeError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(
      'semantic_layer_invalid',
      `The semantic layer has ${problems.length} problem(s):\n${problems.map(formatProblem).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** `file:line:column path: message`, the form editors and CI logs link to. */
export function formatProblem(problem: Problem): string {
  const where = problem.path === '' ? '' : ` ${problem.path}:`;
  return `${problem.file}:${problem.line}:${problem.column}${where} ${problem.message}`;
}

/** A parsed YAML file that can say where a path inside it is. */
export class SourceFile {
  constructor(
    readonly name: string,
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text` (duplicate keys refused), with the YAML errors as problems at their positions. */
  static parse(
    name: string,
    text: string,
    schema?: 'failsafe',
  ): { source: SourceFile; document: Document; errors: Problem[] } {
    const lines = new LineCounter();
    const document = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
      ...(schema === undefined ? {} : { schema }),
    });
    const errors = document.errors.map((error) => {
      const position = lines.linePos(error.pos[0]);
      return { file: name, line: position.line, column: position.col, path: '', message: error.message };
    });
    return { source: new SourceFile(name, document, lines), document, errors };
  }

  /** Line and column (1-based) of the node at `path`, or of its nearest existing ancestor. */
  locate(path: readonly PropertyKey[]): { line: number; column: number } {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.document.getIn(path.slice(0, depth) as unknown[], true);
      // A block of fields (a tool, a model) is found at its name, not at its first field.
      const at = isCollection(node) ? (this.keyOf(path.slice(0, depth)) ?? node) : node;
      const offset = depth === 0 ? 0 : (at as { range?: [number, number, number] } | undefined)?.range?.[0];
      if (offset !== undefined) {
        const position = this.lines.linePos(offset);
        return { line: position.line, column: position.col };
      }
    }
    return { line: 1, column: 1 };
  }

  /** The key node naming the value at `path` in its parent mapping. */
  private keyOf(path: readonly PropertyKey[]): unknown {
    const last = path[path.length - 1];
    const parent =
      path.length === 1 ? this.document.contents : this.document.getIn(path.slice(0, -1) as unknown[], true);
    if (!isMap(parent) || last === undefined) return undefined;
    return parent.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(last))?.key;
  }

  /** A problem at `path` in this file. */
  problem(path: readonly PropertyKey[], message: string): Problem {
    return { file: this.name, ...this.locate(path), path: path.map(String).join('.'), message };
  }

  /** A problem with the key of `path` itself (a misspelt one): at the key, not at its value. */
  keyProblem(path: readonly PropertyKey[], message: string): Problem {
    const offset = (this.keyOf(path) as { range?: [number, number, number] } | undefined)?.range?.[0];
    if (offset === undefined) return this.problem(path, message);
    const position = this.lines.linePos(offset);
    return {
      file: this.name,
      line: position.line,
      column: position.col,
      path: path.map(String).join('.'),
      message,
    };
  }
}

/** Where each named definition came from, so cross-file checks can point at the right line. */
export type Origins = Map<Section, Map<string, SourceFile>>;

/**
 * Parses, validates and cross-checks semantic-layer YAML texts against the tools this server can serve
 * (`catalogue`: name → kind of binding); throws SemanticLayerError listing every problem.
 */
export function parseSemanticLayer(
  files: readonly { name: string; text: string }[],
  catalogue: ReadonlyMap<string, ToolKind>,
): SemanticLayer {
  const problems: Problem[] = [];
  const merged: Required<{ [S in Section]: NonNullable<SemanticFile[S]> }> = {
    models: {},
    dimensions: {},
    metrics: {},
    tools: {},
    resources: {},
    prompts: {},
    rollups: {},
  };
  const origins: Origins = new Map(SECTIONS.map((section) => [section, new Map()]));
  let access: { definition: AccessDef; source: SourceFile } | undefined;
  let timeZone: { zone: string; source: SourceFile } | undefined;
  if (files.length === 0) {
    problems.push({
      file: '(semantic layer)',
      line: 1,
      column: 1,
      path: '',
      message: 'No .yaml files found',
    });
  }
  for (const { name, text } of files) {
    const { source, document, errors } = SourceFile.parse(name, text);
    if (errors.length > 0) {
      problems.push(...errors);
      continue;
    }
    if (document.contents !== null && !isMap(document.contents)) {
      problems.push(source.problem([], `Expected a mapping with sections ${SECTIONS.join(', ')}`));
      continue;
    }
    const parsed = semanticFileSchema.safeParse(document.toJS({ maxAliasCount: 100 }) ?? {});
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => issueProblem(source, issue)));
      continue;
    }
    if (parsed.data.access !== undefined) {
      if (access !== undefined) {
        problems.push(
          source.problem(['access'], `Duplicate access section, first defined in ${access.source.name}`),
        );
      } else {
        access = { definition: parsed.data.access, source };
      }
    }
    if (parsed.data.time_zone !== undefined) {
      if (timeZone !== undefined && timeZone.zone !== parsed.data.time_zone)
        problems.push(
          source.problem(
            ['time_zone'],
            `time_zone ${quote(parsed.data.time_zone)} differs from ${quote(timeZone.zone)} in ${timeZone.source.name}: the layer speaks in one zone`,
          ),
        );
      else timeZone = { zone: parsed.data.time_zone, source };
    }
    for (const section of SECTIONS) {
      for (const [key, value] of Object.entries(parsed.data[section] ?? {})) {
        const previous = origins.get(section)?.get(key);
        if (previous !== undefined) {
          problems.push(
            source.problem(
              [section, key],
              `Duplicate ${section} entry ${quote(key)}, first defined in ${previous.name}`,
            ),
          );
          continue;
        }
        origins.get(section)?.set(key, source);
        (merged[section] as Record<string, unknown>)[key] = value;
      }
    }
  }
  if (problems.length > 0) throw new SemanticLayerError(problems);
  const { layer, problems: crossProblems } = checkSemanticLayer(merged, origins, catalogue, access, timeZone);
  if (crossProblems.length > 0) throw new SemanticLayerError(crossProblems);
  return layer;
}

function issueProblem(source: SourceFile, issue: z.core.$ZodIssue): Problem {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path);
    const parts = issue.keys.map((key) => {
      const suggestion = allowed === undefined ? undefined : closest(key, allowed);
      return `Unknown key ${quote(key)}${suggestion === undefined ? '' : `: did you mean ${quote(suggestion)}?`}`;
    });
    const first = issue.keys[0];
    return source.problem(first === undefined ? issue.path : [...issue.path, first], parts.join('; '));
  }
  return source.problem(issue.path, issue.message);
}

/** The keys the schema allows at a path, for did-you-mean on unknown keys. */
function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  const section = path[0];
  if (path.length === 0) return SHAPES[''];
  if (typeof section !== 'string') return undefined;
  if (path.length === 1 && section === 'access') return SHAPES.access;
  if (path.length === 2 && section === 'access' && path[1] === 'default') return SHAPES['access.default'];
  if (path.length === 3 && section === 'access' && path[1] === 'policies') return SHAPES['access.policies'];
  if (path.length === 2 && section !== 'access') return SHAPES[section];
  if (path.length === 4 && section === 'models' && path[2] === 'joins') return SHAPES['models.joins'];
  if (path.length === 4 && section === 'tools' && path[2] === 'filters') return SHAPES['tools.filters'];
  if (path.length === 3 && section === 'tools' && (path[2] === 'experiment' || path[2] === 'forecast'))
    return SHAPES[`tools.${path[2]}`];
  if (path.length === 4 && section === 'tools' && path[2] === 'forecast')
    return SHAPES[`tools.forecast.${String(path[3])}`];
  return undefined;
}

/** The layer directory's folder of saved prompts (files there are layer files like any other). */
const PROMPTS_FOLDER = 'prompts';

/** Reads every `.yaml`/`.yml` file of a directory (sorted) and parses it as one semantic layer. */
export async function loadSemanticLayer(
  directory: string,
  catalogue: ReadonlyMap<string, ToolKind>,
): Promise<SemanticLayer> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => /\.ya?ml$/.test(name)).sort();
    // Saved prompts may live in their own folder, `prompts/`.
    const prompts = await readdir(join(directory, PROMPTS_FOLDER)).catch(() => []);
    names.push(
      ...prompts
        .filter((name) => /\.ya?ml$/.test(name))
        .sort()
        .map((name) => join(PROMPTS_FOLDER, name)),
    );
  } catch (error) {
    throw new SemanticLayerError([
      {
        file: directory,
        line: 1,
        column: 1,
        path: '',
        message: `Cannot read the semantic layer directory ${directory} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): pass the directory, or set MARQUEE_SEMANTIC_LAYER (default semantic-layer, relative to the working directory)`,
      },
    ]);
  }
  if (names.length === 0)
    throw new SemanticLayerError([
      {
        file: directory,
        line: 1,
        column: 1,
        path: '',
        message: `No .yaml files in the semantic layer directory ${directory}: pass the directory, or set MARQUEE_SEMANTIC_LAYER`,
      },
    ]);
  const files = await Promise.all(
    names.map(async (name) => ({
      name: join(directory, name),
      text: await readFile(join(directory, name), 'utf8'),
    })),
  );
  return parseSemanticLayer(files, catalogue);
}
