import type { Request } from 'express';
import { actorOf } from '../../http/actor.ts';
import type { SettingsSection } from './content-section.ts';
import { formText, type PageDeps } from './page.ts';

/**
 * The Variables section's forms: set one (its value is written, never shown again, as in the
 * API) or remove one. The VariableService checks names and encrypts; only managers get here.
 */
function variableActions(d: PageDeps): Record<string, (req: Request) => Promise<void>> {
  const manageable = (req: Request) => d.content.manageable(req.user!, String(req.params.guid));
  return {
    variables: async (req) => {
      const body = req.body as Record<string, unknown>;
      await d.variables.apply(
        actorOf(req, 'web'),
        await manageable(req),
        [{ name: formText(body.name, 255).trim(), value: formText(body.value, 64 * 1024) }],
        false,
      );
    },
    'variables-delete': async (req) => {
      await d.variables.apply(
        actorOf(req, 'web'),
        await manageable(req),
        [{ name: formText((req.body as Record<string, unknown>).name, 255), value: null }],
        false,
      );
    },
  };
}

export const variablesSection: SettingsSection = {
  tab: 'variables',
  label: 'Variables',
  load: async (d, _req, c) => ({ variableNames: await d.variables.names(c) }),
  actions: variableActions,
};
