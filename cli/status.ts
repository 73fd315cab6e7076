/**
 * A one-line status on stderr for slow steps (loading a 62 M-parameter model takes seconds),
 * shown only when stderr is a terminal, so pipes, logs and tests see nothing of it.
 */
export class Status {
  private shown = false;
  constructor(private readonly enabled = Boolean(process.stderr.isTTY)) {}

  set(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
