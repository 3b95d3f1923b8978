import type { Request } from 'express';
import { AppError } from '../../domain/errors.ts';
import { actorOf } from '../../http/actor.ts';
import type { SettingsSection } from './content-section.ts';
import { formText } from './page.ts';

// As the API caps saved parameters: each render gets them on its command input.
const MAX_PARAMS = 64 * 1024;

/** The parameters box: a JSON object of values (`{"region": "EMEA"}`); empty is none. */
function paramsOf(body: Record<string, unknown>): Record<string, unknown> | null {
  const text = formText(body.parameters, MAX_PARAMS + 1).trim();
  if (text === '') return null;
  if (text.length > MAX_PARAMS) throw AppError.badRequest('Parameters may be at most 64 KB.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw AppError.badRequest('Parameters: write a JSON object, such as {"region": "EMEA", "year": 2026}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw AppError.badRequest('Parameters: write a JSON object of names and values.');
  return parsed as Record<string, unknown>;
}

const visibilityOf = (body: Record<string, unknown>) => (body.visibility === 'public' ? 'public' : 'private');
const id = (req: Request) => (req.body as Record<string, unknown>).id;

/**
 * The Parameters tab of a rendered report: its variants (the default and saved ones, each with
 * its own parameter values), to save, change, render now or delete. The VariantService checks
 * who may (the item's managers) and audits.
 */
export const parametersSection: SettingsSection = {
  tab: 'parameters',
  label: 'Parameters',
  applies: (d, c) => d.reports.variants.isRendered(c),
  load: async (d, req, c) => ({
    parameters: {
      variants: (await d.reports.variants.list(req.user!, c.guid)).map(({ variant: v }) => ({
        id: v.id,
        key: v.key,
        name: v.name,
        isDefault: v.isDefault,
        visibility: v.visibility,
        params: v.params === null ? '' : JSON.stringify(v.params, null, 2),
      })),
      task: typeof req.query.task === 'string' ? req.query.task.slice(0, 64) : null,
    },
  }),
  actions: (d) => ({
    variants: async (req) => {
      const body = req.body as Record<string, unknown>;
      const name = formText(body.name, 255).trim();
      if (!name) throw AppError.badRequest('Give the variant a name.');
      await d.reports.variants.create(actorOf(req, 'web'), req.user!, String(req.params.guid), {
        name,
        params: paramsOf(body) ?? {},
        visibility: visibilityOf(body),
      });
    },
    'variants-update': async (req) => {
      const body = req.body as Record<string, unknown>;
      const name = formText(body.name, 255).trim();
      const found = await d.reports.variants.manageable(req.user!, id(req));
      await d.reports.variants.update(actorOf(req, 'web'), req.user!, found.variant.id, {
        ...(found.variant.isDefault ? {} : { name: name || found.variant.name, visibility: visibilityOf(body) }),
        params: paramsOf(body),
      });
    },
    'variants-delete': async (req) => d.reports.variants.remove(actorOf(req, 'web'), req.user!, id(req)),
    'variants-render': async (req) => {
      const user = req.user!;
      const task = await d.reports.renders.requestRender(actorOf(req, 'web'), user, await d.reports.variants.manageable(user, id(req)));
      return `/apps/${String(req.params.guid)}/parameters?task=${encodeURIComponent(task.id)}`;
    },
  }),
};
