import type { StaticRecipe } from './recipe.ts';

/**
 * Files served as uploaded. Starts from `primary_html` (or `entrypoint`), else `index.html`,
 * `index.htm` or the first `.html` file at the root.
 */
export const recipe: StaticRecipe = {
  kind: 'static',
  mode: 'static',
  language: 'none',
  validate(bundle) {
    const primary = bundle.given('primary_html') ?? bundle.given('entrypoint');
    if (primary) return bundle.named(primary, 'primary_html');
    const found = bundle.first('index.html', 'index.htm') ?? bundle.rootWith('.html', '.htm')[0];
    if (!found) throw bundle.missing('has no index.html, index.htm or other .html file at its root');
    return found;
  },
};
