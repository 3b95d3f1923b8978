import type { StaticRecipe } from './recipe.ts';

export const recipe: StaticRecipe = { kind: 'static', mode: 'static', language: 'none' };
