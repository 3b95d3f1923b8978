import type { ReportRendered, ReportRenderer } from '../../src/domain/reports.ts';
import type { ContentRunner } from '../content-runner.ts';
import type { Rendered } from './renderer.ts';

/** What the control plane keeps of a render: the published directory only as its relative path. */
export function reportRendered(r: Rendered): ReportRendered {
  return { jobKey: r.jobKey, outputPath: r.outputPath, outputFile: r.outputFile, metadata: r.metadata };
}

/**
 * The runtimes' side of report renders (scheduled, on demand, of a variant), over the runner's
 * rendering side: the variant's place (null: the default one, where the deploy's renders
 * land), its parameters, and the report's variables; then the published directory of a
 * rendering, and its removal once pruned; the daily prune's sweep of output nothing serves.
 */
export function createReportRenderer(runner: ContentRunner): ReportRenderer {
  const { rendering } = runner;
  return {
    render: async (req) => reportRendered(await rendering.render(req.item, req.variantKey, req.params, req.log, req.env)),
    outputDir: (outputPath) => rendering.publishedDir(outputPath),
    discard: (outputPath) => rendering.discard(outputPath),
    prune: (now, keep) => rendering.prune(now, keep),
  };
}
