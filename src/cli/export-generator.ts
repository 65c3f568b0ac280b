// `npm run export-generator`: the generator alone out of a training checkpoint (a few MB instead of both nets
// and both optimizers), for shipping or embedding. Takes the moving average of the weights when the checkpoint
// has one, unless --trained.
import { readSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { inspectGeneratorState } from '../gan/generator-state.js';
import { readModelSpec, SPEC_METADATA_KEY } from '../gan/model-spec.js';
import { parse, num, str, runCli, UsageError, HelpRequest, optionalNum } from '../node/args.js';
import { TEMPERATURE_METADATA_KEY, MAX_TEMPERATURE } from '../gan/sampling-temperature.js';
import { checkOutputs, OutputWriter } from '../node/outputs.js';
import { checkpointOf } from '../node/run-folder.js';

export const GENERATOR_FORMAT = 'atelier-dcgan-generator/1';

export const EXPORT_USAGE = `usage: npm run export-generator -- --checkpoint FILE --out FILE [--trained] [--temperature T] [--note TEXT]
  --checkpoint FILE   a training checkpoint (checkpoints/*.safetensors)
  --out FILE          the generator-only safetensors file to write
  --trained           take the last step's weights even when the checkpoint has a moving average (--ema)
  --temperature T     stored as the file's own sampling temperature (the standard deviation of z that generate,
                      evaluate, critic, sample() and the studio then use unless told another); default: none (1)
  --note TEXT         stored in the file's metadata as "trained_with" (e.g. the command that trained it)`;

export function exportGenerator(argv: string[]): { out: string; weights: 'average' | 'trained'; tensors: number; temperature?: number } {
  const v = parse(argv, {
    checkpoint: { type: 'string' }, out: { type: 'string' }, trained: { type: 'boolean' }, note: { type: 'string' }, temperature: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, EXPORT_USAGE);
  if (v.help) throw new HelpRequest(EXPORT_USAGE);
  const checkpoint = checkpointOf(str(v, 'checkpoint'));
  const out = str(v, 'out');
  if (!checkpoint || !out) throw new UsageError(`--checkpoint FILE and --out FILE are required\n\n${EXPORT_USAGE}`);
  const temperature = optionalNum(v, 'temperature', { minExclusive: 0, max: MAX_TEMPERATURE });
  const { tensors, metadata } = readSafetensors(checkpoint);
  // Every generator tensor is checked (names, shapes, dtype, finite values) so a broken file is never re-exported.
  const { prefix, weights, spec } = inspectGeneratorState(tensors, checkpoint, { trained: Boolean(v.trained) }, readModelSpec(metadata, checkpoint));
  checkOutputs({ files: [{ flag: '--out', path: out }], inputs: [{ flag: '--checkpoint', path: checkpoint }] });
  const average = weights === 'average';
  const picked = Object.entries(tensors).filter(([name]) => name.startsWith(prefix));
  const generator = Object.fromEntries(picked.map(([name, t]) => [`generator.${name.slice(prefix.length)}`, t]));
  const kept = ['config', 'step', 'epochs_done', 'adapter'].filter((k) => metadata[k] !== undefined);
  new OutputWriter().write('--out', out, encodeSafetensors(generator, {
    ...Object.fromEntries(kept.map((k) => [k, metadata[k]])),
    format: GENERATOR_FORMAT,
    [SPEC_METADATA_KEY]: JSON.stringify(spec),
    weights: average ? 'moving average' : 'trained',
    ...(temperature !== undefined ? { [TEMPERATURE_METADATA_KEY]: String(temperature) } : {}),
    ...(v.note ? { trained_with: String(v.note) } : {}),
  }));
  return { out, weights: average ? 'average' : 'trained', tensors: picked.length, temperature };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const r = exportGenerator(process.argv.slice(2));
    console.log(`wrote ${r.out}: ${r.tensors} generator tensors (${r.weights === 'average' ? 'moving average of the weights' : 'trained weights'}${r.temperature === undefined ? '' : `, sampled at temperature ${r.temperature}`})`);
    return 0;
  });
}
