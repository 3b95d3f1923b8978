/** A clock a test moves by hand: the scheduler reads it, nothing sleeps for a schedule. */
export class TestClock {
  private t: number;

  constructor(start: Date | string) {
    this.t = new Date(start).getTime();
  }

  readonly now = (): Date => new Date(this.t);

  advance(ms: number): Date {
    this.t += ms;
    return this.now();
  }

  set(to: Date | string): Date {
    this.t = new Date(to).getTime();
    return this.now();
  }
}
