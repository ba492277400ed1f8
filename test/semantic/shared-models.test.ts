import { describe, expect, it } from 'vitest';
import { parseSemanticLayer, type SemanticLayerError } from '../../src/semantic/load-semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';

/** The problems of a one-file layer, as `path: message`. */
function problems(text: string): string[] {
  try {
    parseSemanticLayer([{ name: 'layer.yaml', text }], TOOL_KINDS);
    return [];
  } catch (error) {
    return (error as SemanticLayerError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
}

const METRICS = `
metrics:
  plays: { model: plays, aggregation: count, description: Plays. }
  people: { model: plays, aggregation: count_distinct, column: person, description: People. }
`;

describe('whose rows a model holds', () => {
  it('is said, never inferred: a tenant column or shared: true, not both and not neither', () => {
    expect(
      problems(`models:
  plays: { table: plays, description: Plays., tenant_column: org, people: people }
  titles: { table: titles, description: Titles. }
  both: { table: both, description: Both., tenant_column: org, shared: true }
${METRICS}`),
    ).toEqual([
      expect.stringMatching(/^models\.titles: Say whose rows these are: tenant_column: .*, or shared: true/),
      'models.both.shared: A shared table has no tenant column: remove one of the two',
    ]);
  });

  it('a shared table holds no people, and joins no tenant rows (the privacy rules count people there)', () => {
    expect(
      problems(`models:
  plays: { table: plays, description: Plays., tenant_column: org, people: people }
  titles:
    table: titles
    description: Titles.
    shared: true
    people: people
    joins: [{ to: plays, on: { title: title } }]
${METRICS}`),
    ).toEqual([
      expect.stringMatching(/^models\.titles\.shared: A table every tenant shares cannot hold people's rows/),
      expect.stringMatching(
        /^models\.titles\.joins\.0\.to: A shared model joins only other shared models; join it from "plays" instead/,
      ),
      expect.stringMatching(/^models\.titles\.people: "people" must count people in the rows of "titles"/),
    ]);
  });

  it('a time zone is an IANA name, and one layer speaks in one', () => {
    expect(problems(`time_zone: Europe/Berlinn\n`)).toEqual([
      expect.stringMatching(/^time_zone: Unknown time zone "Europe\/Berlinn": use an IANA name/),
    ]);
    expect(() =>
      parseSemanticLayer(
        [
          { name: 'a.yaml', text: 'time_zone: UTC\n' },
          { name: 'b.yaml', text: 'time_zone: Asia/Tokyo\n' },
        ],
        TOOL_KINDS,
      ),
    ).toThrow(/time_zone "Asia\/Tokyo" differs from "UTC" in a\.yaml: the layer speaks in one zone/);
  });
});
