import { describe, expect, it } from 'vitest';
import type { AccessType, Content, ContentRole, PermissionRole } from '../../src/domain/content.ts';
import type { User, UserRole } from '../../src/domain/user.ts';
import { AccessPolicy, type GrantSource } from '../../src/services/access-policy.ts';

let nextId = 1;

function user(role: UserRole, locked = false): User {
  const id = nextId++;
  const now = new Date(0);
  return {
    id,
    guid: `u-${id}`,
    username: `u${id}`,
    email: '',
    firstName: '',
    lastName: '',
    role,
    locked,
    confirmed: true,
    mustChangePassword: false,
    createdTime: now,
    updatedTime: now,
    activeTime: null,
  };
}

function item(owner: User, accessType: AccessType): Content {
  const id = nextId++;
  const now = new Date(0);
  return {
    id,
    guid: `c-${id}`,
    name: `c${id}`,
    title: null,
    description: '',
    ownerId: owner.id,
    appMode: 'static',
    contentCategory: '',
    accessType,
    parameterized: false,
    bundleId: null,
    createdTime: now,
    updatedTime: now,
    lastDeployedTime: null,
    locked: false,
    lockedMessage: '',
  } as Content;
}

/** Grants as PermissionRepo.grantsFor answers: the user's own and their groups', merged. */
class FakeGrants implements GrantSource {
  readonly direct = new Map<string, PermissionRole>();
  readonly groups = new Map<string, PermissionRole>();
  readonly members = new Map<number, string[]>();
  queries = 0;

  grant(u: User, c: Content, role: PermissionRole) {
    this.direct.set(`${u.id}/${c.id}`, role);
  }
  grantGroup(group: string, c: Content, role: PermissionRole) {
    this.groups.set(`${group}/${c.id}`, role);
  }
  join(u: User, group: string) {
    this.members.set(u.id, [...(this.members.get(u.id) ?? []), group]);
  }

  async grantsFor(userId: number, contentIds: readonly number[]) {
    this.queries++;
    const out = new Map<number, PermissionRole[]>();
    for (const id of contentIds) {
      const roles: PermissionRole[] = [];
      const own = this.direct.get(`${userId}/${id}`);
      if (own) roles.push(own);
      for (const g of this.members.get(userId) ?? []) {
        const r = this.groups.get(`${g}/${id}`);
        if (r) roles.push(r);
      }
      if (roles.length) out.set(id, roles);
    }
    return out;
  }
}

function setup() {
  const grants = new FakeGrants();
  const policy = new AccessPolicy(grants);
  const owner = user('publisher');
  return { grants, policy, owner };
}

async function decisions(policy: AccessPolicy, u: User | undefined, c: Content) {
  return {
    role: await policy.role(u, c),
    view: await policy.canView(u, c),
    manage: await policy.canManage(u, c),
    deploy: await policy.canDeploy(u, c),
    preview: await policy.canPreview(u, c),
  };
}

const OWNER = { role: 'owner', view: true, manage: true, deploy: true, preview: true };
const EDITOR = { role: 'editor', view: true, manage: true, deploy: true, preview: true };
const VIEWER = { role: 'viewer', view: true, manage: false, deploy: false, preview: false };
const NONE = { role: 'none', view: false, manage: false, deploy: false, preview: false };

describe('AccessPolicy', () => {
  describe.each<AccessType>(['acl', 'logged_in', 'all'])('access type %s', (accessType) => {
    it('the owner owns it', async () => {
      const { policy, owner } = setup();
      expect(await decisions(policy, owner, item(owner, accessType))).toEqual(OWNER);
    });

    it('administrators edit it', async () => {
      const { policy, owner } = setup();
      expect(await decisions(policy, user('administrator'), item(owner, accessType))).toEqual(EDITOR);
    });

    it('a publisher or viewer without a grant views it unless it is acl', async () => {
      const { policy, owner } = setup();
      const c = item(owner, accessType);
      for (const role of ['publisher', 'viewer'] as const) {
        expect(await decisions(policy, user(role), c)).toEqual(accessType === 'acl' ? NONE : VIEWER);
      }
    });

    it('anonymous callers view only `all`', async () => {
      const { policy, owner } = setup();
      expect(await decisions(policy, undefined, item(owner, accessType))).toEqual(accessType === 'all' ? VIEWER : NONE);
    });

    it('locked users get nothing, not even as owner or administrator', async () => {
      const { policy, grants } = setup();
      const lockedOwner = user('publisher', true);
      const c = item(lockedOwner, accessType);
      const lockedAdmin = user('administrator', true);
      const lockedCollaborator = user('publisher', true);
      grants.grant(lockedCollaborator, c, 'owner');
      for (const u of [lockedOwner, lockedAdmin, lockedCollaborator]) expect(await decisions(policy, u, c)).toEqual(NONE);
    });
  });

  it('a collaborator grant makes a publisher an editor, a viewer account a viewer', async () => {
    const { policy, grants, owner } = setup();
    const c = item(owner, 'acl');
    const publisher = user('publisher');
    const viewer = user('viewer');
    grants.grant(publisher, c, 'owner');
    grants.grant(viewer, c, 'owner');
    expect(await decisions(policy, publisher, c)).toEqual(EDITOR);
    expect(await decisions(policy, viewer, c)).toEqual(VIEWER);
  });

  it('a viewer grant lets anyone view an acl item', async () => {
    const { policy, grants, owner } = setup();
    const c = item(owner, 'acl');
    for (const role of ['publisher', 'viewer'] as const) {
      const u = user(role);
      grants.grant(u, c, 'viewer');
      expect(await decisions(policy, u, c)).toEqual(VIEWER);
    }
  });

  it('group grants count as the member’s own', async () => {
    const { policy, grants, owner } = setup();
    const c = item(owner, 'acl');
    const collaborator = user('publisher');
    const viewerAccount = user('viewer');
    const reader = user('publisher');
    const outsider = user('publisher');
    grants.grantGroup('editors', c, 'owner');
    grants.grantGroup('readers', c, 'viewer');
    grants.join(collaborator, 'editors');
    grants.join(viewerAccount, 'editors');
    grants.join(reader, 'readers');
    expect(await decisions(policy, collaborator, c)).toEqual(EDITOR);
    expect(await decisions(policy, viewerAccount, c)).toEqual(VIEWER);
    expect(await decisions(policy, reader, c)).toEqual(VIEWER);
    expect(await decisions(policy, outsider, c)).toEqual(NONE);
  });

  it('a viewer account owning an item still cannot manage it', async () => {
    const { policy } = setup();
    const viewerOwner = user('viewer');
    expect(await decisions(policy, viewerOwner, item(viewerOwner, 'acl'))).toEqual({ role: 'owner', view: true, manage: false, deploy: false, preview: false });
  });

  it('roles for a listing take at most one query, none when every role is settled', async () => {
    const { policy, grants, owner } = setup();
    const items = [item(owner, 'acl'), item(owner, 'all'), item(user('publisher'), 'logged_in')];
    const roles = await policy.roles(owner, items);
    expect([...roles.values()]).toEqual<ContentRole[]>(['owner', 'owner', 'viewer']);
    expect(grants.queries).toBe(1);
    await policy.roles(user('administrator'), items);
    await policy.roles(undefined, items);
    expect(grants.queries).toBe(1);
  });

  it('publishing: administrators and publishers who are not locked', () => {
    const { policy } = setup();
    expect(policy.canPublish(user('administrator'))).toBe(true);
    expect(policy.canPublish(user('publisher'))).toBe(true);
    expect(policy.canPublish(user('viewer'))).toBe(false);
    expect(policy.canPublish(user('publisher', true))).toBe(false);
    expect(policy.canPublish(user('administrator', true))).toBe(false);
  });

  it('run_as is for administrators only', () => {
    const { policy } = setup();
    expect(policy.canSetRunAs(user('administrator'))).toBe(true);
    expect(policy.canSetRunAs(user('publisher'))).toBe(false);
  });

  it('failure details: the owner and administrators, not collaborators, viewers or anonymous', () => {
    const { policy, owner } = setup();
    const c = item(owner, 'all');
    expect(policy.seesFailureDetails(owner, c)).toBe(true);
    expect(policy.seesFailureDetails(user('administrator'), c)).toBe(true);
    expect(policy.seesFailureDetails(user('publisher'), c)).toBe(false);
    expect(policy.seesFailureDetails(undefined, c)).toBe(false);
  });

  it('tasks: their starter and administrators', () => {
    const { policy, owner } = setup();
    expect(policy.readsTaskOf(owner, owner.id)).toBe(true);
    expect(policy.readsTaskOf(user('administrator'), owner.id)).toBe(true);
    expect(policy.readsTaskOf(user('publisher'), owner.id)).toBe(false);
    expect(policy.readsTaskOf(user('publisher'), null)).toBe(false);
  });

  it('listings: everything for administrators, granted items for others, nothing when locked', () => {
    const { policy } = setup();
    const publisher = user('publisher');
    expect(policy.listingScope(user('administrator'))).toEqual({ kind: 'everything' });
    expect(policy.listingScope(publisher)).toEqual({ kind: 'granted', userId: publisher.id });
    expect(policy.listingScope(user('viewer', true))).toEqual({ kind: 'nothing' });
    expect(policy.listingScope(user('administrator', true))).toEqual({ kind: 'nothing' });
  });
});
