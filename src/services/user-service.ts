import { AppError, ErrorCode } from '../domain/errors.ts';
import { isGuid } from '../domain/ids.ts';
import { USER_ROLES, type Actor, type User, type UserRole } from '../domain/user.ts';
import { isUniqueViolation } from '../db/values.ts';
import type { SessionRepo } from '../repositories/session-repo.ts';
import type { UserChanges, UserQuery, UserRepo } from '../repositories/user-repo.ts';
import type { AuditLog } from './audit-log.ts';
import { dummyVerify, generatePassword, hashPassword, verifyPassword } from './password.ts';

const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface CreateUserInput {
  username: string;
  email?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
  role: UserRole;
  /** Without one, a password is generated, returned once, and must be changed at first login. */
  password?: string | undefined;
}

export type LoginResult = { ok: true; user: User } | { ok: false; reason: 'bad-credentials' | 'locked'; user?: User };

export class UserService {
  constructor(
    private readonly users: UserRepo,
    private readonly sessions: SessionRepo,
    private readonly audit: AuditLog,
    private readonly minPasswordLength: number,
  ) {}

  count(): Promise<number> {
    return this.users.count();
  }

  checkPasswordStrength(password: string): void {
    if (password.length < this.minPasswordLength) {
      throw AppError.badRequest(`The password is not strong enough: use at least ${this.minPasswordLength} characters.`, ErrorCode.passwordTooWeak);
    }
  }

  async create(actor: Actor, input: CreateUserInput): Promise<{ user: User; generatedPassword?: string }> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw AppError.badRequest(
        'The requested username is not permitted: use 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.',
        7,
      );
    }
    if (!USER_ROLES.includes(input.role)) {
      throw AppError.badRequest(`Unknown user_role "${String(input.role)}": use one of ${USER_ROLES.join(', ')}.`);
    }
    const generatedPassword = input.password === undefined ? generatePassword() : undefined;
    const password = input.password ?? generatedPassword!;
    if (input.password !== undefined) this.checkPasswordStrength(password);

    const user = await this.insert(actor, input, { passwordHash: await hashPassword(password), mustChangePassword: generatedPassword !== undefined }, {});
    return generatedPassword ? { user, generatedPassword } : { user };
  }

  /**
   * An account whose logins are an identity provider's (provisioned at its first login): no
   * password, so Lectern's own password check never lets anyone in as it. Audited with the provider.
   */
  async createRemote(actor: Actor, input: Omit<CreateUserInput, 'password'>, provider: string): Promise<User> {
    if (!USERNAME_PATTERN.test(input.username)) throw AppError.badRequest(`The username "${input.username}" is not one Lectern accepts.`, 7);
    return this.insert(actor, input, { passwordHash: null, mustChangePassword: false }, { provider });
  }

  /** Writes a new user (a taken name is Connect's 409) and audits it, with `extra` in the entry. */
  private async insert(
    actor: Actor,
    input: Omit<CreateUserInput, 'password'>,
    secret: { passwordHash: string | null; mustChangePassword: boolean },
    extra: Record<string, string>,
  ): Promise<User> {
    let user: User;
    try {
      user = await this.users.create({
        username: input.username,
        email: input.email ?? '',
        firstName: input.firstName ?? '',
        lastName: input.lastName ?? '',
        role: input.role,
        ...secret,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict('The requested username is already in use.', ErrorCode.usernameTaken);
      throw err;
    }
    await this.audit.record(actor, 'user.create', { type: 'user', id: user.guid }, { username: user.username, role: user.role, ...extra });
    return user;
  }

  /** Whether the name is an account with a password of Lectern's own (the login form's choice). */
  async hasPassword(username: string): Promise<boolean> {
    const user = await this.users.byUsername(username);
    return !!user && (await this.users.passwordHash(user.id)) !== null;
  }

  /** Marks a login: the account's last activity. */
  touchActive(user: User, at: Date): Promise<void> {
    return this.users.touchActive(user.id, at);
  }

  list(q: UserQuery) {
    return this.users.list(q);
  }

  async byGuid(guid: string): Promise<User> {
    const user = isGuid(guid) ? await this.users.byGuid(guid) : undefined;
    if (!user) throw AppError.notFound('The requested user could not be found.', ErrorCode.userNotFound);
    return user;
  }

  byId(id: number) {
    return this.users.byId(id);
  }

  async byUsername(username: string): Promise<User> {
    const user = await this.users.byUsername(username);
    if (!user) throw AppError.notFound(`No user named "${username}".`, ErrorCode.userNotFound);
    return user;
  }

  /** `extra`: more for the audit entry (the identity provider whose login made the change). */
  async update(
    actor: Actor,
    user: User,
    changes: Pick<UserChanges, 'email' | 'firstName' | 'lastName' | 'role'>,
    extra: Record<string, unknown> = {},
  ): Promise<User> {
    if (changes.role !== undefined && !USER_ROLES.includes(changes.role)) {
      throw AppError.badRequest(`Unknown user_role "${String(changes.role)}": use one of ${USER_ROLES.join(', ')}.`);
    }
    const updated = (await this.users.update(user.id, changes))!;
    await this.audit.record(actor, 'user.update', { type: 'user', id: user.guid }, { changes, ...extra });
    return updated;
  }

  /** Locking also ends the user's browser sessions; their API keys stop working at once. */
  async setLocked(actor: Actor, user: User, locked: boolean): Promise<User> {
    if (locked && actor.userId === user.id) throw AppError.badRequest('You cannot lock your own account.');
    const updated = (await this.users.update(user.id, { locked }))!;
    const ended = locked ? await this.sessions.destroyForUser(user.id) : 0;
    await this.audit.record(actor, locked ? 'user.lock' : 'user.unlock', { type: 'user', id: user.guid }, locked ? { sessions_ended: ended } : undefined);
    return updated;
  }

  /**
   * A new password ends the user's other browser sessions (someone who knew the old one may
   * hold one); `keepSession`, the session that made the change, stays logged in.
   */
  async changePassword(actor: Actor, user: User, current: string | null, next: string, keepSession?: string): Promise<void> {
    if (current !== null) {
      const hash = await this.users.passwordHash(user.id);
      if (!hash || !(await verifyPassword(hash, current))) throw AppError.badRequest('The current password is wrong.');
    }
    this.checkPasswordStrength(next);
    await this.users.update(user.id, { passwordHash: await hashPassword(next), mustChangePassword: false });
    const ended = await this.sessions.destroyForUser(user.id, keepSession);
    await this.audit.record(actor, 'user.password', { type: 'user', id: user.guid }, { sessions_ended: ended });
  }

  /**
   * An administrator's reset: a generated password, returned once, which the user must change
   * at their next login (as a new account's first one). Their browser sessions end, since the
   * reset is often for a password someone else learnt; their API keys are theirs to revoke.
   * One's own password is changed knowing it, not reset.
   */
  async resetPassword(actor: Actor, user: User): Promise<string> {
    if (actor.userId === user.id) throw AppError.badRequest('Change your own password on the password page; a reset is for other accounts.');
    const password = generatePassword();
    await this.users.update(user.id, { passwordHash: await hashPassword(password), mustChangePassword: true });
    const ended = await this.sessions.destroyForUser(user.id);
    await this.audit.record(actor, 'user.password.reset', { type: 'user', id: user.guid }, { username: user.username, sessions_ended: ended });
    return password;
  }

  /** Checks a password login. The caller records the outcome (it knows the client address). */
  async verifyLogin(username: string, password: string): Promise<LoginResult> {
    const user = await this.users.byUsername(username);
    const hash = user ? await this.users.passwordHash(user.id) : null;
    if (!user || !hash) {
      await dummyVerify(password);
      return user ? { ok: false, reason: 'bad-credentials', user } : { ok: false, reason: 'bad-credentials' };
    }
    if (!(await verifyPassword(hash, password))) return { ok: false, reason: 'bad-credentials', user };
    if (user.locked) return { ok: false, reason: 'locked', user };
    await this.users.touchActive(user.id, new Date());
    return { ok: true, user };
  }
}
