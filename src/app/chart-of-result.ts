import type { App } from '@modelcontextprotocol/ext-apps';
import { VEGA_LITE_MIME } from '../charts/chart-spec.js';

/** A tool result as the host hands it to the view. */
type ToolResult = Parameters<NonNullable<App['ontoolresult']>>[0];

/**
 * The chart of a tool result, read through the host from the chart link the result carries (so the chart is
 * computed for the same reader as the answer); undefined when the result has no chart link.
 */
export async function chartOfResult(
  app: Pick<App, 'readServerResource'>,
  result: ToolResult,
): Promise<Record<string, unknown> | undefined> {
  const link = (result.content ?? []).find(
    (item) => item.type === 'resource_link' && (item as { mimeType?: string }).mimeType === VEGA_LITE_MIME,
  ) as { uri: string } | undefined;
  if (link === undefined) return undefined;
  const read = await app.readServerResource({ uri: link.uri });
  const [content] = read.contents as { text?: string }[];
  return JSON.parse(content?.text ?? '{}') as Record<string, unknown>;
}
