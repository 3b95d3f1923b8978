/** A page view of an item (connect-api-next.md §7.1); `dataVersion` 3 for what Lectern writes. */
export interface Visit {
  contentGuid: string;
  userGuid: string | null;
  variantKey: string | null;
  renderingId: number | null;
  bundleId: number | null;
  path: string;
  userAgent: string | null;
  time: Date;
  dataVersion: number;
}

/** A Shiny session (§7.2): `ended` null while it is open. `key` names it until it is written. */
export interface ShinySession {
  key: string;
  contentGuid: string;
  userGuid: string | null;
  started: Date;
  ended: Date | null;
  dataVersion: number;
}

/** Any request to an item (§7.3, Connect's "hits"). */
export interface Hit {
  contentGuid: string;
  userGuid: string | null;
  time: Date;
  path: string;
  query: string;
  userAgent: string | null;
  secFetchDest: string | null;
  secFetchSite: string | null;
}

/** Whose usage a caller sees: administrators everything, publishers the items they manage. */
export type UsageScope = { kind: 'everything' } | { kind: 'managed'; userId: number };

/** The filters of §7.1–7.3: items (none: all in scope), the lowest data version, an inclusive window. */
export interface UsageFilter {
  scope: UsageScope;
  contentGuids?: string[] | undefined;
  minDataVersion?: number | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Visits only: the user agent contains this, ignoring case. */
  userAgent?: string | undefined;
}

/** The data version of the rows Lectern writes: visits must be ≥ 3 (the default filter, §7.0). */
export const VISIT_DATA_VERSION = 3;
export const SHINY_DATA_VERSION = 1;

/** One request to an item, as the usage tables keep it (connect-api-next.md §7.0). */
export interface UsageRequest {
  contentGuid: string;
  userGuid: string | null;
  bundleId: number;
  path: string;
  query: string;
  userAgent: string | null;
  secFetchDest: string | null;
  secFetchSite: string | null;
  time: Date;
}
