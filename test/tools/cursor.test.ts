import { describe, expect, it } from 'vitest';
import { CursorCodec } from '../../src/tools/framework/cursor.js';

const DAY = 24 * 60 * 60 * 1000;
const state = { tool: 'query_engagement', args: { time_range: '2026-Q3' }, anchor: '2026-10-31', offset: 50 };

describe('page cursors', () => {
  const codec = new CursorCodec('key');

  it('resume the arguments, offset and anchor they were issued with', () => {
    const cursor = codec.encode(state, 1_000);
    expect(codec.decode(cursor, 'query_engagement', 1_000 + DAY - 1)).toEqual(state);
    expect(codec.resume('query_engagement', { cursor: codec.encode(state) })).toEqual({
      args: state.args,
      offset: 50,
      anchor: '2026-10-31',
    });
  });

  it('expire after 24 hours', () => {
    const cursor = codec.encode(state, 1_000);
    expect(() => codec.decode(cursor, 'query_engagement', 1_000 + DAY + 1)).toThrow(
      /^Invalid cursor: it has expired \(cursors last 24 hours\); call again without cursor/,
    );
  });

  it('belong to one tool and one key', () => {
    const cursor = codec.encode(state);
    expect(() => codec.decode(cursor, 'explain_change')).toThrow(/it belongs to tool "query_engagement"/);
    expect(() => new CursorCodec('other key').decode(cursor, 'query_engagement')).toThrow(
      /its signature does not match/,
    );
  });
});
