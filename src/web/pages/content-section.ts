import type { NextFunction, Request, Response } from 'express';
import type { Content } from '../../domain/content.ts';
import type { PageDeps } from './page.ts';

/**
 * A settings form's work: given the request, it changes something or throws (a 4xx is shown on
 * the page). It may say where to go next (else: back to its tab, saying it saved).
 */
export type SettingsAction = (req: Request, res: Response) => Promise<string | void>;

/**
 * One tab of a content item's settings (managers only): what its partial
 * (`views/partials/settings-<tab>.ejs`) needs, loaded only when it is the open tab, and the
 * forms it posts to `/apps/{guid}/<action>`.
 */
export interface SettingsSection {
  tab: string;
  label: string;
  /** Whether the item has this tab (Runtime: items that run processes; Schedule: rendered reports). */
  applies?: (d: PageDeps, c: Content) => boolean;
  load: (d: PageDeps, req: Request, c: Content) => Promise<Record<string, unknown>>;
  actions?: (d: PageDeps) => Record<string, SettingsAction>;
  /** Body parsers an action needs before its CSRF check can read the form (a file upload's multipart). */
  parsers?: Record<string, (req: Request, res: Response, next: NextFunction) => void>;
}
