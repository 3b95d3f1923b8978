import { RateLimiterMemory } from 'rate-limiter-flexible';

/**
 * Counts failed logins per (username, client address) and per address, as OWASP suggests:
 * the first stops guessing one account, the second stops spraying many. A success clears
 * the per-account count. Counters live in memory: one Lectern node holds its own.
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

  /** Seconds until another try is allowed, or 0 when a try is allowed now. */
  async retryAfter(username: string, ip: string): Promise<number> {
    const [acct, addr] = await Promise.all([
      this.perAccount.get(LoginThrottle.accountKey(username, ip)),
      this.perAddress.get(ip),
    ]);
    const blocked = [
      acct && acct.remainingPoints <= 0 ? acct.msBeforeNext : 0,
      addr && addr.remainingPoints <= 0 ? addr.msBeforeNext : 0,
    ];
    return Math.ceil(Math.max(...blocked) / 1000);
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    // consume() rejects once the budget is spent; being blocked is the point, not an error.
    await Promise.allSettled([this.perAccount.consume(LoginThrottle.accountKey(username, ip)), this.perAddress.consume(ip)]);
  }

  async recordSuccess(username: string, ip: string): Promise<void> {
    await this.perAccount.delete(LoginThrottle.accountKey(username, ip));
  }
}
