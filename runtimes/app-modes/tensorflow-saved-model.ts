import type { AppModeCheck } from './recipe.ts';

/** A TensorFlow SavedModel: uploads are checked, but this server cannot serve it. */
export const check: AppModeCheck = {
  mode: 'tensorflow-saved-model',
  validate(bundle) {
    const found = [...bundle.files].sort().find((f) => f === 'saved_model.pb' || f.endsWith('/saved_model.pb'));
    if (!found) throw bundle.missing('has no saved_model.pb');
    return found;
  },
};
