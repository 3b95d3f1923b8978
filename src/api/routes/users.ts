import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { USER_ROLES } from '../../domain/user.ts';
import { actorOf } from '../../http/actor.ts';
import type { UserService } from '../../services/user-service.ts';
import { currentUser, requireRole, requireUser } from '../middleware/require-role.ts';
import { userV0, userV1 } from '../serializers/user-json.ts';
import { parseInput } from '../validate.ts';

const listQuery = z.object({
  page_number: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(500).default(20),
  prefix: z.string().max(128).optional(),
  user_role: z.enum(USER_ROLES).optional(),
  account_status: z.enum(['locked', 'licensed', 'inactive']).optional(),
});

const createBody = z
  .object({
    username: z.string().min(1).max(64),
    email: z.string().max(320).default(''),
    first_name: z.string().max(128).default(''),
    last_name: z.string().max(128).default(''),
    user_role: z.enum(USER_ROLES).default('viewer'),
    password: z.string().max(1024).optional(),
  })
  .loose();

const updateBody = z
  .object({
    email: z.string().max(320).optional(),
    first_name: z.string().max(128).optional(),
    last_name: z.string().max(128).optional(),
    user_role: z.enum(USER_ROLES).optional(),
  })
  .loose();

const lockBody = z.object({ locked: z.boolean() });

export function userRoutes(users: UserService): Router {
  const r = Router();

  // Who am I: three spellings for three client generations (connect-api.md §3.2, §5.3).
  r.get('/users/current', requireUser, (req, res) => void res.json(userV0(currentUser(req))));
  r.get('/me', requireUser, (req, res) => void res.json(userV0(currentUser(req))));
  r.get('/v1/user', requireUser, (req, res) => void res.json(userV1(currentUser(req))));

  // Publishers look people up to share content with; viewers have no such need.
  r.get('/v1/users', requireRole('administrator', 'publisher'), async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const { users: list, total } = await users.list({
      prefix: q.prefix,
      role: q.user_role,
      locked: q.account_status === 'locked' ? true : undefined,
      offset: (q.page_number - 1) * q.page_size,
      limit: q.page_size,
    });
    res.json({ results: list.map(userV1), current_page: q.page_number, total });
  });

  r.get('/v1/users/:guid', requireUser, async (req, res) => {
    const me = currentUser(req);
    if (me.role === 'viewer' && me.guid !== req.params.guid) throw AppError.forbidden();
    res.json(userV1(await users.byGuid(String(req.params.guid))));
  });

  r.post('/v1/users', requireRole('administrator'), async (req, res) => {
    const b = parseInput(createBody, req.body);
    const { user, generatedPassword } = await users.create(actorOf(req), {
      username: b.username,
      email: b.email,
      firstName: b.first_name,
      lastName: b.last_name,
      role: b.user_role,
      password: b.password,
    });
    // A generated password is shown once, to the administrator who created the account.
    res.status(201).json(generatedPassword ? { ...userV1(user), password: generatedPassword } : userV1(user));
  });

  // Users edit their own names and email; only administrators change roles or others.
  r.put('/v1/users/:guid', requireUser, async (req, res) => {
    const me = currentUser(req);
    const target = await users.byGuid(String(req.params.guid));
    const b = parseInput(updateBody, req.body);
    const isAdmin = me.role === 'administrator';
    if (!isAdmin && me.id !== target.id) throw AppError.forbidden();
    if (!isAdmin && b.user_role !== undefined && b.user_role !== target.role) {
      throw new AppError(403, 23, "You don't have permission to assign this role.");
    }
    const updated = await users.update(actorOf(req), target, {
      email: b.email,
      firstName: b.first_name,
      lastName: b.last_name,
      role: b.user_role,
    });
    res.json(userV1(updated));
  });

  r.post('/v1/users/:guid/lock', requireRole('administrator'), async (req, res) => {
    const b = parseInput(lockBody, req.body);
    const target = await users.byGuid(String(req.params.guid));
    res.json(userV1(await users.setLocked(actorOf(req), target, b.locked)));
  });

  return r;
}
