import type { Content } from '../../domain/content.ts';
import type { Variant } from '../../domain/reports.ts';

/** The public address of a content item's report, and of one of its renders. */
export function reportUrls(base: string, c: Content, v: Variant | null, renderingId: number | null) {
  const report = `${base}/content/${c.guid}/`;
  const variant = v && !v.isDefault ? `${report}v${v.key}/` : report;
  return {
    report: variant,
    rendering: renderingId === null ? variant : `${variant}_rev${renderingId}/`,
    subscription: `${base}/connect/#/apps/${c.guid}/subscriptions`,
  };
}

/**
 * What a report render sees besides the content's own variables (connect-api-next.md §4.5):
 * blastula writes a local preview when RSC_REPORT_NAME is unset, and Quarto picks its email
 * metadata format from the Connect version in SPARK_CONNECT_USER_AGENT.
 */
export function reportEnv(base: string, c: Content, v: Variant | null, renderingId: number | null, connectVersion: string): Record<string, string> {
  const urls = reportUrls(base, c, v, renderingId);
  return {
    RSC_REPORT_NAME: c.title || c.name,
    RSC_REPORT_URL: urls.report,
    RSC_REPORT_RENDERING_URL: urls.rendering,
    RSC_REPORT_SUBSCRIPTION_URL: urls.subscription,
    SPARK_CONNECT_USER_AGENT: `posit-connect/${connectVersion}`,
    RSTUDIO_PRODUCT: 'CONNECT',
    POSIT_PRODUCT: 'CONNECT',
  };
}
