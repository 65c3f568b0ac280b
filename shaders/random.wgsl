// Counter-based random numbers: element i of stream (seed, counter) is a hash of the four words, so the
// same seed and counter give the same tensor on every device. NORMAL: Box–Muller; else uniform [lo, hi).
struct Params { n: u32, seed: u32, counter: u32, p0: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn hash(i: u32, lane: u32) -> u32 {
  return pcg(pcg(pcg(i ^ pcg(lane)) + u.seed) ^ pcg(u.counter + 0x9e3779b9u));
}

// A uniform float in (0, 1): 24 random bits, never 0 so log() is safe.
fn unit(h: u32) -> f32 {
  return (f32(h >> 8u) + 0.5) / 16777216.0;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
#if NORMAL
  let r = sqrt(-2.0 * log(unit(hash(i, 0u))));
  let theta = 6.283185307179586 * unit(hash(i, 1u));
  y[i] = u.a + u.b * r * cos(theta);
#else
  y[i] = u.a + (u.b - u.a) * unit(hash(i, 0u));
#endif
}
