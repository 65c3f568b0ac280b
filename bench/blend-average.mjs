// A one-off measurement for issue 16's recipe search: a generator file whose moving average is replaced by
// ALPHA · average + (1 − ALPHA) · trained weights (every float tensor, batchnorm running statistics included), so
// `npm run evaluate -- --checkpoint OUT` scores the blend. Run after `npm run build`:
//   node bench/blend-average.mjs IN.safetensors OUT.safetensors ALPHA
import { readSafetensors, writeSafetensors } from '../dist/src/io/safetensors.js';
const [input, out, a] = process.argv.slice(2);
const alpha = Number(a);
if (!input || !out || !(alpha >= 0 && alpha <= 1)) {
  console.error('error: usage: node bench/blend-average.mjs IN.safetensors OUT.safetensors ALPHA (ALPHA in [0, 1]: the weight of the moving average)');
  process.exit(1);
}
const { tensors, metadata } = readSafetensors(input);
const averaged = Object.keys(tensors).filter((name) => name.startsWith('generator_ema.'));
if (!averaged.length) {
  console.error(`error: ${input} holds no moving average (generator_ema.*); blend a file trained with --ema`);
  process.exit(1);
}
for (const name of averaged) {
  const average = tensors[name].data;
  const trained = tensors[`generator.${name.slice('generator_ema.'.length)}`].data;
  if (!(average instanceof Float32Array)) continue;
  for (let i = 0; i < average.length; i++) average[i] = alpha * average[i] + (1 - alpha) * trained[i];
}
writeSafetensors(out, tensors, metadata);
console.log(`wrote ${out}`);
