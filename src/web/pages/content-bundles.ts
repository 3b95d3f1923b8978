import { actorOf } from '../../http/actor.ts';
import type { Request } from 'express';
import type { SettingsSection } from './content-section.ts';
import type { PageDeps } from './page.ts';

/**
 * The Bundles tab's forms: activate an earlier bundle (a deploy of it, as the clients start one;
 * the page then follows its task) and delete one that is neither active nor deploying. The
 * services check who may (the people who deploy the item).
 */
function bundleActions(d: PageDeps): Record<string, (req: Request) => Promise<string | void>> {
  const id = (req: Request) => String((req.body as Record<string, unknown>).id ?? '');
  return {
    'bundles-activate': async (req) => {
      const { content, bundle } = await d.bundles.find(req.user!, String(req.params.guid), id(req));
      const task = await d.deploys.deploy(actorOf(req, 'web'), req.user!, content, bundle.id, true);
      return `/apps/${content.guid}/bundles?task=${encodeURIComponent(task.id)}`;
    },
    'bundles-delete': async (req) => {
      await d.bundles.delete(actorOf(req, 'web'), req.user!, String(req.params.guid), id(req));
    },
  };
}

export const bundlesSection: SettingsSection = {
  tab: 'bundles',
  label: 'Bundles',
  load: async (d, req, c) => ({
    bundles: { list: (await d.bundles.list(req.user!, c.guid)).bundles, task: typeof req.query.task === 'string' ? req.query.task.slice(0, 64) : null },
  }),
  actions: bundleActions,
};
