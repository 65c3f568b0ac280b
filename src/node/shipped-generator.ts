// The generator `npm run generate` uses when --checkpoint is omitted: the best one atelier ships (models/),
// found from this file so that it works from any working directory and from an installed package.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file name, under models/, of the best generator atelier ships (see the README's first result). */
export const DEFAULT_GENERATOR = 'dcgan-conditional-fashion-mnist.safetensors';

/**
 * The path of models/<name> in the package that holds this module (the repository, or node_modules/atelier),
 * found by walking up to the folder with package.json; works from src/ (tests) and dist/src/ (the CLI).
 * Throws when no such folder holds models/<name> (a package built without its models).
 */
export function shippedModelPath(name: string = DEFAULT_GENERATOR): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const path = join(dir, 'models', name);
      if (existsSync(path)) return path;
      break;
    }
  }
  throw new Error(`the shipped generator models/${name} is missing from this installation; give one with --checkpoint FILE`);
}
