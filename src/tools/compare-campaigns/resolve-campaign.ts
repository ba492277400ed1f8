import { ArgumentError } from '../../errors.js';
import { quoteData } from '../../guard/untrusted-text.js';
import { closest, quote } from '../../semantic/did-you-mean.js';
import type { ExperimentDef } from '../../semantic/schema.js';
import type { Row } from '../../warehouse/warehouse.js';

/** The campaign id an argument names: an id (any case), or an error saying which id was meant. */
export function resolveCampaign(
  argument: string,
  raw: string,
  directory: readonly Row[],
  experiment: ExperimentDef,
): string {
  const value = raw.trim();
  const id = (row: Row) => String(row[experiment.subject] ?? '');
  const name = (row: Row) => String(row[experiment.subject_name] ?? '');
  const exact =
    directory.find((row) => id(row) === value) ??
    directory.find((row) => id(row).toLowerCase() === value.toLowerCase());
  if (exact !== undefined) return id(exact);
  const byName = directory.filter((row) => name(row).toLowerCase() === value.toLowerCase());
  if (byName.length > 0) {
    throw new ArgumentError(
      argument,
      `${argument}: ${quote(value)} is a campaign name, not an id; pass ${argument}: ${quote(id(byName[0] as Row))}${
        byName.length > 1
          ? ` (or ${byName
              .slice(1)
              .map((row) => quote(id(row)))
              .join(', ')}: several campaigns have this name)`
          : ''
      }`,
    );
  }
  const lower = value.toLowerCase();
  const nearId = closest(value, directory.map(id));
  // A partial or misspelled name: names containing it first, then the closest name.
  const nearName = closest(
    lower,
    directory.map((row) => name(row).toLowerCase()),
  );
  const named = [
    ...new Set([
      ...directory.filter((row) => lower.length >= 3 && name(row).toLowerCase().includes(lower)),
      ...directory.filter((row) => name(row).toLowerCase() === nearName),
    ]),
  ].slice(0, 3);
  const suggestion =
    nearId !== undefined
      ? `did you mean ${quote(nearId)}? `
      : named.length > 0
        ? `did you mean ${named.map((row) => `${quote(id(row))} (${quoteData(name(row))})`).join(' or ')}? `
        : '';
  throw new ArgumentError(
    argument,
    `Unknown campaign ${quote(value)} for ${argument}: ${suggestion}Pass a campaign id; list_campaigns finds ids by name.`,
  );
}
