import type { Actor } from '../domain/user.ts';
import type { AuditLog } from './audit-log.ts';
import { randomBytes } from 'node:crypto';
import { isUniqueViolation } from '../db/values.ts';
import { CONTENT_NAME_PATTERN, fallbackName, nameFromTitle, withSuffix } from '../domain/content-names.ts';
import { refuseLocked, type Content, type ContentRole, type ContentSettings, type AccessType } from '../domain/content.ts';
import type { ContentEvents } from '../domain/deploy.ts';
import { AppError, ErrorCode } from '../domain/errors.ts';
import { asId, isGuid } from '../domain/ids.ts';
import { checkScalingRequest, type ScalingPolicy } from '../domain/scaling.ts';
import type { User } from '../domain/user.ts';
import type { ContentChanges, ContentRepo } from '../repositories/content-repo.ts';
import type { UserRepo } from '../repositories/user-repo.ts';
import type { BundleStore } from './bundles/bundle-store.ts';
import type { AccessPolicy } from './access-policy.ts';

// A generated name that clashes is tried again with another suffix, this many times.
const NAME_TRIES = 5;
const suffix = () => randomBytes(4).toString('hex');

export interface CreateContentInput {
  /** Absent: one is made from the title, else `content-xxxxxxxx` (the SDKs may leave it out). */
  name?: string;
  title?: string | null;
  description?: string;
  accessType?: AccessType;
  settings?: Partial<ContentSettings>;
}

export interface ContentWithOwner {
  content: Content;
  owner: User | undefined;
  /** The requesting user's role on it (Connect's app_role). */
  role: ContentRole;
}

function checkName(name: string) {
  if (!CONTENT_NAME_PATTERN.test(name)) {
    throw AppError.badRequest('Content name must be between 3 and 64 alphanumeric characters, dashes, and underscores.', 5);
  }
}

export class ContentService {
  constructor(
    private readonly content: ContentRepo,
    private readonly users: UserRepo,
    private readonly store: BundleStore,
    private readonly events: ContentEvents,
    private readonly access: AccessPolicy,
    private readonly scaling: ScalingPolicy,
    private readonly audit: AuditLog,
  ) {}

  /** Which Unix account content runs as is an administrator's decision. */
  private checkRunAs(user: User, s: Partial<ContentSettings>) {
    const touches = (s.run_as !== undefined && s.run_as !== null) || s.run_as_current_user === true;
    if (touches && !this.access.canSetRunAs(user)) throw AppError.forbidden('Only administrators can set run_as or run_as_current_user.');
  }

  async create(actor: Actor, user: User, input: CreateContentInput): Promise<Content> {
    const c = await this.make(user, input);
    await this.audit.record(actor, 'content.create', { type: 'content', id: c.guid }, { name: c.name, title: c.title });
    return c;
  }

  private async make(user: User, input: CreateContentInput): Promise<Content> {
    if (!this.access.canPublish(user)) throw AppError.forbidden('You do not have permission to publish content.');
    this.checkRunAs(user, input.settings ?? {});
    checkScalingRequest(input.settings ?? {}, input.settings ?? {}, this.scaling);
    if (input.name !== undefined) {
      checkName(input.name);
      return this.insert(user, input, input.name);
    }
    const base = nameFromTitle(input.title);
    for (let i = 0; ; i++) {
      const name = i === 0 && base ? base : base ? withSuffix(base, suffix()) : fallbackName(suffix());
      try {
        return await this.insert(user, input, name);
      } catch (err) {
        // Names are unique per server: a made-up one that is taken is made again.
        if (!(err instanceof AppError && err.code === ErrorCode.nameTaken) || i >= NAME_TRIES) throw err;
      }
    }
  }

  private async insert(user: User, input: CreateContentInput, name: string): Promise<Content> {
    try {
      return await this.content.create({
        name,
        title: input.title ?? null,
        description: input.description ?? '',
        ownerId: user.id,
        accessType: input.accessType ?? 'acl',
        settings: input.settings ?? {},
      });
    } catch (err) {
      // Names are unique per server, so the name may belong to content this user cannot see.
      if (isUniqueViolation(err)) {
        throw AppError.conflict(
          `The content name "${name}" is already taken on this server. Choose another name (rsconnect: deployApp(appName = ...); rsconnect-python: --name ...).`,
          ErrorCode.nameTaken,
        );
      }
      throw err;
    }
  }

  /** The item, if the user may see it. Absent and hidden answer the same, so ids leak nothing. */
  async visible(user: User | undefined, guid: string): Promise<Content> {
    const c = isGuid(guid) ? await this.content.byGuid(guid) : undefined;
    if (!c || !(await this.access.canView(user, c))) throw AppError.notFound('The requested content does not exist.');
    return c;
  }

  async visibleById(user: User | undefined, id: number): Promise<Content> {
    const c = asId(id) ? await this.content.byId(id) : undefined;
    if (!c || !(await this.access.canView(user, c))) throw AppError.notFound('The requested content does not exist.');
    return c;
  }

  /** The item, if the user may change it: 404 when they cannot see it, 403 when they only see it. */
  async manageable(user: User, guid: string): Promise<Content> {
    return this.requireManage(user, await this.visible(user, guid));
  }

  async manageableById(user: User, id: number): Promise<Content> {
    return this.requireManage(user, await this.visibleById(user, id));
  }

  /** The item, if the user may upload and deploy its bundles: 404 when they cannot see it, 403 when they only see it. */
  async deployable(user: User, guid: string): Promise<Content> {
    return this.requireDeploy(user, await this.visible(user, guid));
  }

  async deployableById(user: User, id: number): Promise<Content> {
    return this.requireDeploy(user, await this.visibleById(user, id));
  }

  /**
   * The item, if the user may upload bundles to it and deploy it now: as `deployable`, and
   * refused while it is locked (Connect's LockedContentBundle, code 222).
   */
  async deployTarget(user: User, guid: string): Promise<Content> {
    return refuseLocked(await this.deployable(user, guid));
  }

  async deployTargetById(user: User, id: number): Promise<Content> {
    return refuseLocked(await this.deployableById(user, id));
  }

  private async requireManage(user: User, c: Content): Promise<Content> {
    if (!(await this.access.canManage(user, c))) throw AppError.forbidden("You don't have permission to change this content.");
    return c;
  }

  private async requireDeploy(user: User, c: Content): Promise<Content> {
    if (!(await this.access.canDeploy(user, c))) throw AppError.forbidden("You don't have permission to change this content.");
    return c;
  }

  /** Whether the user may change the item (its settings pages show to them only). */
  mayManage(user: User, c: Content): Promise<boolean> {
    return this.access.canManage(user, c);
  }

  /** A deploy task, if the user may read it: its starter, administrators, and whoever manages its content. */
  async readsTask(user: User, starterId: number | null, contentId: number | null): Promise<boolean> {
    if (this.access.readsTaskOf(user, starterId)) return true;
    if (contentId === null) return false;
    const c = asId(contentId) ? await this.content.byId(contentId) : undefined;
    return !!c && (await this.access.canView(user, c)) && (await this.access.canManage(user, c));
  }

  /** The user's role on the item (Connect's app_role). */
  roleOf(user: User | undefined, c: Content): Promise<ContentRole> {
    return this.access.role(user, c);
  }

  /** What the user may see: everything for administrators, nothing for a locked account. */
  async list(user: User, q: { name?: string; ownerGuid?: string; ownerId?: number; search?: string; taggedWith?: number; offset: number; limit: number }) {
    const scope = this.access.listingScope(user);
    if (scope.kind === 'nothing') return { items: [], total: 0 };
    let ownerId = q.ownerId;
    if (q.ownerGuid !== undefined) {
      const owner = isGuid(q.ownerGuid) ? await this.users.byGuid(q.ownerGuid) : undefined;
      if (!owner) return { items: [], total: 0 };
      ownerId = owner.id;
    }
    return this.content.list({
      name: q.name,
      ownerId,
      search: q.search,
      taggedWith: q.taggedWith,
      visibleTo: scope.kind === 'granted' ? scope.userId : undefined,
      offset: q.offset,
      limit: q.limit,
    });
  }

  /** Each item with its owner and the user's role on it, for serializing a listing. */
  async withOwners(user: User, items: Content[]): Promise<ContentWithOwner[]> {
    const ids = [...new Set(items.map((c) => c.ownerId))];
    const owners = new Map((await Promise.all(ids.map((id) => this.users.byId(id)))).filter((u): u is User => !!u).map((u) => [u.id, u]));
    const roles = await this.access.roles(user, items);
    return items.map((content) => ({ content, owner: owners.get(content.ownerId), role: roles.get(content.id) ?? 'none' }));
  }

  ownerOf(c: Content): Promise<User | undefined> {
    return this.users.byId(c.ownerId);
  }

  async update(actor: Actor, user: User, c: Content, changes: ContentChanges): Promise<Content> {
    await this.requireManage(user, c);
    this.checkRunAs(user, changes);
    checkScalingRequest(changes, { ...c, ...changes }, this.scaling);
    if (changes.name !== undefined) checkName(changes.name);
    // Nothing to change (posit-sdk-py sends `{}` before a restart): the item as it is.
    if (Object.values(changes).every((v) => v === undefined)) return c;
    try {
      const updated = (await this.content.update(c.id, changes))!;
      const fields = Object.keys(changes).filter((k) => changes[k as keyof ContentChanges] !== undefined);
      await this.audit.record(actor, 'content.update', { type: 'content', id: c.guid }, { fields });
      return updated;
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(`Content named "${changes.name}" already exists.`, ErrorCode.nameTaken);
      throw err;
    }
  }

  async delete(actor: Actor, user: User, c: Content): Promise<void> {
    await this.requireManage(user, c);
    await this.content.delete(c.id);
    await this.audit.record(actor, 'content.delete', { type: 'content', id: c.guid }, { name: c.name, title: c.title });
    this.events.contentDeleted(c.guid);
    await this.store.removeContent(c.guid);
  }
}
