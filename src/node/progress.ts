// Progress on a terminal (one line redrawn in place) or plain lines when output is piped.
export class Progress {
  private lastPlain = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout, private readonly plainEverySeconds = 30) {}

  update(text: string): void {
    if (this.out.isTTY) {
      const width = this.out.columns ?? 120;
      this.out.write(`\r${text.slice(0, width - 1).padEnd(width - 1)}`);
    } else if (Date.now() - this.lastPlain >= this.plainEverySeconds * 1000) {
      this.lastPlain = Date.now();
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the redrawn line so the next message starts on its own. */
  line(text: string): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    this.out.write(`${text}\n`);
  }
}

export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
