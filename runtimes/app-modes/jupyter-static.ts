import { nbconvertArgv, pythonEnv } from './python-entrypoint.ts';
import type { RenderedRecipe } from './recipe.ts';

/**
 * A notebook executed and rendered to HTML by nbconvert, with the environment's python as the
 * kernel (`lectern_nbconvert` gives nbconvert a `python3` kernelspec naming the interpreter it
 * runs with; Debian's system kernelspec would name /usr/bin/python3 and miss the venv's
 * packages). `jupyter.hide_all_input` drops all code; `hide_tagged_input` drops the code of
 * cells tagged `hide_input`.
 */
export const recipe: RenderedRecipe = {
  mode: 'jupyter-static',
  kind: 'rendered',
  language: 'python',
  validate(bundle) {
    const entry = bundle.given('entrypoint');
    if (entry) return bundle.named(entry, 'entrypoint');
    const found = bundle.first('index.ipynb') ?? bundle.rootWith('.ipynb')[0];
    if (!found) throw bundle.missing('has no entrypoint and no .ipynb notebook at its root');
    return found;
  },
  command(ctx) {
    const notebook = ctx.primaryFile ?? ctx.manifest.metadata.entrypoint ?? '';
    if (!notebook) throw new Error('jupyter-static: the bundle names no notebook (entrypoint)');
    const jupyter = ctx.manifest.jupyter ?? {};
    return {
      argv: nbconvertArgv(ctx, [
        '--to',
        'html',
        '--execute',
        '--ExecutePreprocessor.kernel_name=python3',
        // No limit per cell: the render's own timeout (runtime.renderTimeoutSeconds) bounds the whole run.
        '--ExecutePreprocessor.timeout=-1',
        '--ExecutePreprocessor.startup_timeout=120',
        ...(jupyter.hide_all_input ? ['--no-input'] : []),
        ...(jupyter.hide_tagged_input ? ['--TagRemovePreprocessor.enabled=True', '--TagRemovePreprocessor.remove_input_tags=hide_input'] : []),
        '--output-dir',
        ctx.outputDir,
        '--output',
        'index',
        notebook,
      ]),
      env: pythonEnv({ PYDEVD_DISABLE_FILE_VALIDATION: '1', JUPYTER_PLATFORM_DIRS: '1' }),
      cwd: ctx.bundleDir,
      output: 'index.html',
    };
  },
};
