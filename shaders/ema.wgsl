// Exponential moving average in place: average = decay·average + (1 − decay)·x.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, decay: f32, oneMinusDecay: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> average: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  average[i] = u.decay * average[i] + u.oneMinusDecay * x[i];
}
