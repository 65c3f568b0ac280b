// Where the package's own files are (models/, studio/, dist/), and the generator `npm run generate` uses when
// --checkpoint is omitted: the best one atelier ships. Found from this module's location, so that both work from
// any working directory and from an installed package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file name, under models/, of the best generator atelier ships (see the README's first result). */
export const DEFAULT_GENERATOR = 'dcgan-best-fashion-mnist.safetensors';

/**
 * The folder with package.json that holds this module: the repository, or node_modules/atelier once
 * installed. Works from src/ (tests) and dist/src/ (the CLI). Throws when there is none within five levels.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) if (existsSync(join(dir, 'package.json'))) return dir;
  throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}: atelier's files are not where they were installed`);
}

/**
 * The path of models/<name> in this package. Throws, naming the file and the fix, when the package lacks it
 * (one built without its models).
 */
export function shippedModelPath(name: string = DEFAULT_GENERATOR): string {
  const path = join(packageRoot(), 'models', name);
  if (!existsSync(path)) throw new Error(`the shipped generator models/${name} is missing from this installation; give one with --checkpoint FILE`);
  return path;
}
