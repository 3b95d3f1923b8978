import type { RecordedPackage } from '../../domain/packages.ts';

/** Connect's v1 Package: ids as strings like the rest of v1, the item under both its names. */
export function packageV1(p: RecordedPackage) {
  return {
    language: p.language,
    language_version: p.languageVersion,
    name: p.name,
    version: p.version,
    hash: p.hash,
    bundle_id: String(p.bundleId),
    app_id: String(p.contentId),
    app_guid: p.contentGuid,
    content_id: String(p.contentId),
    content_guid: p.contentGuid,
  };
}
