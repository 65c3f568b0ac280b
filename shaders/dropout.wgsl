// Inverted dropout: y = x·mask/(1 − p), the mask a hash of (seed, counter, element index) in the manner of
// random.wgsl, so the backward pass rebuilds the same mask instead of storing it. An element is kept when
// its 24 random bits are ≥ threshold = round(p·2^24).
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, seed: u32, counter: u32, threshold: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Lane 7 keeps dropout's stream apart from random.wgsl's lanes 0 and 1 at the same (seed, counter).
fn hash(i: u32) -> u32 {
  return pcg(pcg(pcg(i ^ pcg(7u)) + u.seed) ^ pcg(u.counter + 0x9e3779b9u));
}

fn keep(i: u32) -> f32 {
  return select(0.0, u.scale, (hash(i) >> 8u) >= u.threshold);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
#if VEC4
  let e = 4u * i;
  y[i] = x[i] * vec4f(keep(e), keep(e + 1u), keep(e + 2u), keep(e + 3u));
#else
  y[i] = x[i] * keep(i);
#endif
}
