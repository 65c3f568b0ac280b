// BatchNorm input gradient from the per-channel coefficients of batchnorm_grad_stats:
// dx = a[c]·dy + b[c]·(x − mean[c]) + d[c]. VEC4 and PACKED as in batchnorm_apply.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { total: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<T>;

#if PACKED
#include batchnorm_channels

fn gatherCoef(offset: u32, ch: vec4u) -> vec4f {
  return vec4f(coef[offset + ch.x], coef[offset + ch.y], coef[offset + ch.z], coef[offset + ch.w]);
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.total) { return; }
#if PACKED
  let ch = channels(i);
  let mean = vec4f(saved[ch.x], saved[ch.y], saved[ch.z], saved[ch.w]);
  let a = gatherCoef(0u, ch);
  let b = gatherCoef(u.c, ch);
  let d = gatherCoef(2u * u.c, ch);
#else
  let ch = (i / u.hw) % u.c;
  let mean = saved[ch];
  let a = coef[ch];
  let b = coef[u.c + ch];
  let d = coef[2u * u.c + ch];
#endif
  dx[i] = a * dy[i] + b * (x[i] - T(mean)) + d;
}
