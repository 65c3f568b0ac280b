#!/usr/bin/env node
// The package's `atelier` command: `atelier <command> [flags]` runs src/cli/<command>.ts with the flags, exactly
// as `npm run <command> -- [flags]` does. It is the one file of src/cli that loads another (dynamically, by
// name; test/import-graph.test.ts allows this file only): each entry runs itself when it is the program's main
// module (`import.meta.url === file://argv[1]`), so argv[1] is set to the entry's own file before it is loaded.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const COMMANDS = ['train', 'generate', 'evaluate', 'critic', 'export-generator', 'train-classifier', 'metric-sensitivity', 'studio', 'compare'] as const;

const USAGE = `usage: atelier <command> [flags]   (atelier <command> --help for its flags)
commands: ${COMMANDS.join(', ')}`;

async function main(): Promise<void> {
  const [command, ...flags] = process.argv.slice(2);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    process.exitCode = command === undefined ? 2 : 0;
    return;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    console.error(`error: unknown command ${JSON.stringify(command).slice(0, 60)}; use one of ${COMMANDS.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const entry = new URL(`./${command}.js`, import.meta.url);
  process.argv = [process.argv[0], fileURLToPath(entry), ...flags];
  await import(entry.href);
}

// Run as a program, also through npm's bin link (node_modules/.bin/atelier, a symlink to this file).
const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();
if (isMain) await main();
