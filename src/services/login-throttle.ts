import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Counts logins per (username, client address) and per address, as OWASP suggests: the first
 * stops guessing one account, the second stops spraying many. A try is counted when it starts
 * (`reserve`), before the password is checked: argon2 takes a while, and counting only the
 * failures afterwards let every guess sent at once through. A success gives its count back.
 * Counters live in memory: one Lectern node holds its own.
 */
export class LoginThrottle {
  private readonly perAccount: RateLimiterMemory;
  private readonly perAddress: RateLimiterMemory;

  constructor(maxFailures: number, windowMinutes: number) {
    const duration = windowMinutes * 60;
    this.perAccount = new RateLimiterMemory({ points: maxFailures, duration, blockDuration: duration });
    this.perAddress = new RateLimiterMemory({ points: maxFailures * 20, duration, blockDuration: duration });
  }

  private static accountKey(username: string, ip: string) {
    return `${username.toLowerCase()}|${ip}`;
  }

  /**
   * Takes one try from both budgets, at once (the counters are in this process's memory, so
   * nothing runs between the check and the count). Resolves with 0 when the try may go ahead,
   * else with the seconds until another is allowed; a refused try counts for nothing more.
   */
  async reserve(username: string, ip: string): Promise<number> {
    const account = LoginThrottle.accountKey(username, ip);
    try {
      await this.perAccount.consume(account);
    } catch (err) {
      return LoginThrottle.waitOf(err);
    }
    try {
      await this.perAddress.consume(ip);
    } catch (err) {
      await this.perAccount.reward(account, 1);
      return LoginThrottle.waitOf(err);
    }
    return 0;
  }

  /** A successful login clears the account's count and gives the address its try back. */
  async recordSuccess(username: string, ip: string): Promise<void> {
    await Promise.all([this.perAccount.delete(LoginThrottle.accountKey(username, ip)), this.perAddress.reward(ip, 1)]);
  }

  private static waitOf(err: unknown): number {
    // consume() rejects with the limiter's state once the budget is spent; anything else is a fault.
    if (!(err instanceof RateLimiterRes)) throw err;
    return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
  }
}
