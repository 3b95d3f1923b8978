import type { Request } from 'express';
import type { PageDeps } from './page.ts';

const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');

/**
 * The Variables section's forms: set one (its value is written, never shown again, as in the
 * API) or remove one. The VariableService checks names and encrypts; only managers get here.
 */
export function variableActions(d: PageDeps): Record<string, (req: Request) => Promise<void>> {
  const manageable = (req: Request) => d.content.manageable(req.user!, String(req.params.guid));
  return {
    variables: async (req) => {
      const body = req.body as Record<string, unknown>;
      await d.variables.apply(await manageable(req), [{ name: text(body.name, 255).trim(), value: text(body.value, 64 * 1024) }], false);
    },
    'variables-delete': async (req) => {
      await d.variables.apply(await manageable(req), [{ name: text((req.body as Record<string, unknown>).name, 255), value: null }], false);
    },
  };
}
