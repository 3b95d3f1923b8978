import type { AppModeCheck } from './recipe.ts';

/** A Voila dashboard: uploads are checked, but this server cannot run it. */
export const check: AppModeCheck = {
  mode: 'jupyter-voila',
  validate(bundle) {
    const entry = bundle.given('entrypoint');
    if (entry) return bundle.named(entry, 'entrypoint');
    // An empty entrypoint is Voila's multi-notebook mode: any notebook will do.
    if (!bundle.files.some((f) => f.toLowerCase().endsWith('.ipynb'))) throw bundle.missing('has no .ipynb notebook');
    return null;
  },
};
