// Embeds shaders/*.wgsl before any test imports the engine, so `npx vitest` works without `npm test`.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/embed-shaders.mjs'], { stdio: 'inherit' });
}
