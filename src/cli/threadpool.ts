// Imported first by the CLI: engine calls occupy libuv threads, so a larger pool keeps file I/O responsive
// while queries run (ENGINE.md). It must be set before the pool is first used.
process.env.UV_THREADPOOL_SIZE ??= '16';
