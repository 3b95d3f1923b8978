import type { Knex } from 'knex';
import { toBool } from '../db/values.ts';
import type { EnvironmentInventory, EnvironmentPackage, PackageLanguage, RecordedPackage } from '../domain/packages.ts';
import { visibleTo } from './content-visibility.ts';

type Row = Record<string, unknown>;

// Rows per INSERT: under SQLite's and PostgreSQL's bound-parameter limits (7 columns a row).
const INSERT_BATCH = 500;

export interface PackageQuery {
  /** Exact name, compared ignoring case; undefined: every name. */
  name?: string;
  /** Only items this (non-administrator) user may see; undefined: every item. */
  visibleTo?: number;
  ascending: boolean;
  offset: number;
  limit: number;
}

/** A bundle's packages in one language, with how its environment came about. */
export interface LanguagePackages {
  languageVersion: string;
  managed: boolean;
  packages: EnvironmentPackage[];
}

/** What each bundle's environment held when it was built (`bundle_packages`). */
export class BundlePackageRepo {
  constructor(private readonly knex: Knex) {}

  /** Replaces what is recorded for a bundle (a redeploy of it builds its environment again). */
  async replace(bundleId: number, inventories: readonly EnvironmentInventory[]): Promise<void> {
    const rows = inventories.flatMap((inv) =>
      inv.packages.map((p) => ({
        bundle_id: bundleId,
        language: inv.language,
        language_version: inv.languageVersion,
        name: p.name,
        version: p.version,
        hash: p.hash,
        managed: inv.managed,
      })),
    );
    await this.knex.transaction(async (trx) => {
      await trx('bundle_packages').where({ bundle_id: bundleId }).delete();
      for (let i = 0; i < rows.length; i += INSERT_BATCH) await trx('bundle_packages').insert(rows.slice(i, i + INSERT_BATCH));
    });
  }

  /** A bundle's packages, by language then name. */
  async forBundle(bundleId: number): Promise<(EnvironmentPackage & { language: PackageLanguage })[]> {
    const rows = (await this.knex('bundle_packages')
      .where({ bundle_id: bundleId })
      .select('language', 'name', 'version', 'hash')
      .orderBy([{ column: 'language' }, { column: 'name' }, { column: 'id' }])) as Row[];
    return rows.map((r) => ({
      language: String(r.language) as PackageLanguage,
      name: String(r.name),
      version: String(r.version),
      hash: r.hash === null ? null : String(r.hash),
    }));
  }

  /** One language's packages of a bundle, by name; null when none were recorded. */
  async ofLanguage(bundleId: number, language: PackageLanguage): Promise<LanguagePackages | null> {
    const rows = (await this.knex('bundle_packages')
      .where({ bundle_id: bundleId, language })
      .select('language_version', 'managed', 'name', 'version', 'hash')
      .orderBy([{ column: 'name' }, { column: 'id' }])) as Row[];
    const first = rows[0];
    if (!first) return null;
    return {
      languageVersion: String(first.language_version),
      managed: toBool(first.managed),
      packages: rows.map((r) => ({ name: String(r.name), version: String(r.version), hash: r.hash === null ? null : String(r.hash) })),
    };
  }

  /**
   * The packages of each item's active bundle, by name (then language, item
   * and version, so pages are stable), and how many there are in all.
   */
  async page(q: PackageQuery): Promise<{ rows: RecordedPackage[]; total: number }> {
    const base = () => {
      const b = this.knex('bundle_packages as bp').join('content', 'content.bundle_id', 'bp.bundle_id');
      if (q.visibleTo !== undefined) visibleTo(this.knex, b, q.visibleTo);
      if (q.name !== undefined) b.whereRaw('lower(bp.name) = ?', [q.name.toLowerCase()]);
      return b;
    };
    const counted = (await base().count({ n: '*' }).first()) as { n: number | string } | undefined;
    const dir = q.ascending ? 'asc' : 'desc';
    const rows = (await base()
      .select(
        'bp.language',
        'bp.language_version',
        'bp.name',
        'bp.version',
        'bp.hash',
        'bp.bundle_id',
        'content.id as content_id',
        'content.guid as content_guid',
      )
      .orderBy([
        { column: 'bp.name', order: dir },
        { column: 'bp.language', order: dir },
        { column: 'content.id', order: dir },
        { column: 'bp.id', order: dir },
      ])
      .offset(q.offset)
      .limit(q.limit)) as Row[];
    return {
      total: Number(counted?.n ?? 0),
      rows: rows.map((r) => ({
        language: String(r.language) as PackageLanguage,
        languageVersion: String(r.language_version),
        name: String(r.name),
        version: String(r.version),
        hash: r.hash === null ? null : String(r.hash),
        bundleId: Number(r.bundle_id),
        contentId: Number(r.content_id),
        contentGuid: String(r.content_guid),
      })),
    };
  }
}
