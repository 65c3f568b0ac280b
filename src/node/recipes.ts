// Named training recipes for `npm run train -- --recipe NAME`: each a set of flag defaults that explicit flags
// override. They are the candidates of issue 16's recipe search, one ingredient at a time and combined, so the
// search is one command per row. Their measured figures are in the README's recipe search table.

/** A flag's value as the command line gives it: a string, or true for a switch. */
export type RecipeFlags = Readonly<Record<string, string | true>>;

export interface Recipe {
  name: string;
  /** What it is, one line (what `--recipe list` prints). */
  description: string;
  flags: RecipeFlags;
}

const HINGE_SN: RecipeFlags = { loss: 'hinge', 'spectral-norm': true, beta1: '0', beta2: '0.9' };
const BEST_CANDIDATE: RecipeFlags = {
  conditional: true, 'extra-layers-g': '1', 'batch-size': '64', ema: '0.999', loss: 'rpgan', r1: '0.05', r2: '0.05', 'd-reg-every': '8', epochs: '30', 'decay-epochs': '10',
};

export const RECIPES: readonly Recipe[] = [
  { name: 'reference', description: "today's defaults: the reference DCGAN recipe (BCE, Adam β (0.5, 0.999), 20 epochs)", flags: {} },
  {
    name: 'best',
    description: "the recipe of the best shipped generator (npm run generate's default, models/dcgan-best-fashion-mnist, sampled at the temperature stored in it): best-candidate's flags, trained to its end by atelier",
    flags: BEST_CANDIDATE,
  },
  {
    name: 'best-candidate',
    description: "issue 16's winning candidate: class-conditional + one 3×3 block in G + batch 64 + EMA of G 0.999 + R3GAN's loss (rpgan with R1 and R2, γ 0.05, lazily every 8th step) + 30 epochs, the last 10 decayed; atelier's run of it is the best shipped generator, so best repeats its flags",
    flags: BEST_CANDIDATE,
  },
  { name: 'hinge-sn', description: 'candidate ingredient: hinge loss + spectral norm (Miyato et al. 2018) + Adam β (0, 0.9)', flags: HINGE_SN },
  { name: 'ema', description: 'candidate ingredient: the reference sampled from a moving average of G (decay 0.999)', flags: { ema: '0.999' } },
  { name: 'conditional', description: 'the reference made class-conditional (conditional batchnorm in G, projection D; Miyato & Koyama 2018): trained models/dcgan-conditional-fashion-mnist, the best shipped generator before best', flags: { conditional: true } },
  { name: 'augment', description: 'candidate ingredient: the reference with DiffAugment translation,cutout (Zhao et al. 2020)', flags: { augment: 'translation,cutout' } },
  { name: 'minibatch-std', description: 'candidate ingredient: the reference with a minibatch-std map in D, groups of 4 (Karras et al. 2018)', flags: { 'minibatch-std': '4' } },
  { name: 'mode-seeking', description: "candidate ingredient: the reference with MSGAN's mode-seeking term in G's loss, λ 1 (Mao et al. 2019)", flags: { 'mode-seeking': '1' } },
  { name: 'wide', description: 'candidate ingredient: the reference at twice the width (--ngf 128 --ndf 128)', flags: { ngf: '128', ndf: '128' } },
  { name: 'extra-layers', description: "candidate ingredient: the reference with one 3×3 conv block at G's 14×14 (the WGAN code's n_extra_layers)", flags: { 'extra-layers-g': '1' } },
  { name: 'decay', description: 'candidate ingredient: the reference for 40 epochs, the rates falling linearly to 0 over the last 20', flags: { epochs: '40', 'decay-epochs': '20' } },
];

export const RECIPE_NAMES = RECIPES.map((r) => r.name);

/** The recipes `npm run recipe-search -- --recipes all` trains: every one but `best`, which repeats a candidate's flags. */
export const SEARCH_RECIPE_NAMES = RECIPE_NAMES.filter((name) => name !== 'best');

export function findRecipe(name: string): Recipe | undefined {
  return RECIPES.find((r) => r.name === name);
}

/** A recipe's flags as command-line arguments, leaving out those in `given` (explicit flags win). */
export function recipeArgs(recipe: Recipe, given: ReadonlySet<string>): string[] {
  return Object.entries(recipe.flags).filter(([flag]) => !given.has(flag)).map(([flag, value]) => (value === true ? `--${flag}` : `--${flag}=${value}`));
}

/** `--recipe list`: each recipe, its flags and what it is. */
export function recipeList(): string {
  const rows = RECIPES.map((r) => {
    const flags = recipeArgs(r, new Set()).join(' ') || '(no flags)';
    return `  ${r.name.padEnd(16)} ${flags}\n  ${''.padEnd(16)} ${r.description}`;
  });
  return `training recipes (npm run train -- --recipe NAME; explicit flags override a recipe's):\n${rows.join('\n')}\n` +
    "Their figures, measured against the reference: the README's recipe search. `best` (best-candidate's flags) trained the best shipped generator (npm run generate's default).";
}
