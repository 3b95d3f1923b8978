/** The last `size` lines of a render's output, each cut to 500 characters (for a failure notice). */
export class LogTail {
  private readonly kept: string[] = [];

  constructor(private readonly size: number) {}

  push(line: string): void {
    this.kept.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.kept.length > this.size) this.kept.shift();
  }

  lines(): string[] {
    return [...this.kept];
  }
}
