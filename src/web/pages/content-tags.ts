import type { Request } from 'express';
import type { TagNode } from '../../services/content-search-service.ts';
import { actorOf } from '../../http/actor.ts';
import type { SettingsSection } from './content-section.ts';
import type { PageDeps } from './page.ts';

/** Every tag that may go on content (not the categories), with its path, for the picker. */
function assignable(nodes: TagNode[], depth = 0): Array<{ id: number; path: string }> {
  return nodes.flatMap((n) => [...(depth > 0 ? [{ id: n.id, path: n.path }] : []), ...assignable(n.children, depth + 1)]);
}

/** What the Tags section shows: the item's tags by path, and the ones it could get. */
async function tagsOf(d: PageDeps, req: Request, guid: string) {
  const options = assignable(await d.search.tagTree());
  const paths = new Map(options.map((o) => [o.id, o.path]));
  const mine = (await d.tags.ofContent(req.user!, guid)).map((t) => ({ id: t.id, path: paths.get(t.id) ?? t.name }));
  const has = new Set(mine.map((t) => t.id));
  return { mine, options: options.filter((o) => !has.has(o.id)) };
}

/** The Tags section's forms; the TagService checks who may (the item's managers) and the tree's rules. */
function tagActions(d: PageDeps): Record<string, (req: Request) => Promise<void>> {
  const tagId = (req: Request) => String((req.body as Record<string, unknown>).tag_id ?? '');
  return {
    'tags-add': async (req) => void (await d.tags.attach(actorOf(req, 'web'), req.user!, String(req.params.guid), tagId(req))),
    'tags-remove': (req) => d.tags.detach(actorOf(req, 'web'), req.user!, String(req.params.guid), tagId(req)),
  };
}

export const tagsSection: SettingsSection = {
  tab: 'tags',
  label: 'Tags',
  load: async (d, req, c) => ({ tagInfo: await tagsOf(d, req, c.guid) }),
  actions: tagActions,
};
