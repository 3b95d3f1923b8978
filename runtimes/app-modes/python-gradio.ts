import { validatePythonModule } from './python-module.ts';
import type { AppModeCheck } from './recipe.ts';

/** A Gradio app: uploads are checked, but this server cannot run it. */
export const check: AppModeCheck = { mode: 'python-gradio', validate: validatePythonModule };
