/** A fixed set of connections handed out one query at a time; waiters are served in arrival order. */
export class ReaderPool<T> {
  private readonly idle: T[] = [];
  private readonly waiting: ((reader: T) => void)[] = [];
  private created = 0;

  constructor(
    private readonly size: number,
    private readonly create: () => Promise<T>,
  ) {}

  /** Runs `work` with a reader, creating one lazily while under the pool size. */
  async use<R>(work: (reader: T) => Promise<R>): Promise<R> {
    const reader = await this.acquire();
    try {
      return await work(reader);
    } finally {
      this.release(reader);
    }
  }

  /** Every reader created so far, for closing. */
  drain(): T[] {
    return this.idle.splice(0);
  }

  private async acquire(): Promise<T> {
    const ready = this.idle.pop();
    if (ready !== undefined) return ready;
    if (this.created < this.size) {
      this.created++;
      try {
        return await this.create();
      } catch (error) {
        this.created--;
        throw error;
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(reader: T): void {
    const next = this.waiting.shift();
    if (next === undefined) this.idle.push(reader);
    else next(reader);
  }
}
