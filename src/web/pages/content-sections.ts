import { accessSection } from './content-access.ts';
import { bundlesSection } from './content-bundles.ts';
import { infoSection } from './content-info.ts';
import { logsSection } from './content-logs.ts';
import { parametersSection } from './content-parameters.ts';
import { runtimeSection } from './content-runtime.ts';
import { scheduleSection } from './content-schedule.ts';
import type { SettingsSection } from './content-section.ts';
import { tagsSection } from './content-tags.ts';
import { variablesSection } from './content-variables.ts';

/** The settings tabs, in the order the page lists them. Adding one is its module and one line here. */
export const SETTINGS_SECTIONS: readonly SettingsSection[] = [
  infoSection,
  accessSection,
  runtimeSection,
  scheduleSection,
  parametersSection,
  tagsSection,
  variablesSection,
  bundlesSection,
  logsSection,
];
