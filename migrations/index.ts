import type { Knex } from 'knex';
import * as initial from './20261121-001-initial.ts';
import * as publishing from './20261121-002-publishing.ts';
import * as permissions from './20261121-003-permissions.ts';
import * as vanities from './20261121-004-vanities.ts';
import * as apiKeyScope from './20261202-001-api-key-scope.ts';
import * as reports from './20261203-001-reports.ts';
import * as renderRetryKey from './20261204-002-render-retry-key.ts';
import * as oneDefaultVariant from './20261204-003-one-default-variant.ts';
import * as tagsThumbnails from './20261205-001-tags-thumbnails.ts';
import * as recentViews from './20261206-001-recent-views.ts';
import * as contentLock from './20261207-001-content-lock.ts';
import * as contentRepositories from './20261208-001-content-repositories.ts';
import * as usage from './20261208-002-usage.ts';
import * as bundlePackages from './20261208-003-bundle-packages.ts';
import * as remoteIdentities from './20261209-001-remote-identities.ts';
import * as timedWork from './20261210-001-timed-work.ts';

/** Every migration, in order. Never edit one that has landed: add a new one. */
export const migrations: Record<string, Knex.Migration> = {
  '20261121-001-initial': initial,
  '20261121-002-publishing': publishing,
  '20261121-003-permissions': permissions,
  '20261121-004-vanities': vanities,
  '20261202-001-api-key-scope': apiKeyScope,
  '20261203-001-reports': reports,
  '20261204-002-render-retry-key': renderRetryKey,
  '20261204-003-one-default-variant': oneDefaultVariant,
  '20261205-001-tags-thumbnails': tagsThumbnails,
  '20261206-001-recent-views': recentViews,
  '20261207-001-content-lock': contentLock,
  '20261208-001-content-repositories': contentRepositories,
  '20261208-002-usage': usage,
  '20261208-003-bundle-packages': bundlePackages,
  '20261209-001-remote-identities': remoteIdentities,
  '20261210-001-timed-work': timedWork,
};
