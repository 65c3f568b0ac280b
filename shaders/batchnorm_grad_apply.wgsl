// BatchNorm input gradient from the per-channel coefficients of batchnorm_grad_stats:
// dx = a[c]·dy + b[c]·(x − mean[c]) + d[c]. VEC4 and PACKED as in batchnorm_apply.
// ROWS (per-image affine, coefficients from batchnorm_rows_coef): a = coef_a[c]·gammaRows[n, c].
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
#if ROWS
@group(0) @binding(6) var<storage, read> gammaRows: array<f32>;
#endif

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
#if ROWS
  let p = planes(i);
  let ch = p % vec4u(u.c);
  let a = gatherCoef(0u, ch) * vec4f(gammaRows[p.x], gammaRows[p.y], gammaRows[p.z], gammaRows[p.w]);
#else
  let ch = channels(i);
  let a = gatherCoef(0u, ch);
#endif
  let mean = vec4f(saved[ch.x], saved[ch.y], saved[ch.z], saved[ch.w]);
  let b = gatherCoef(u.c, ch);
  let d = gatherCoef(2u * u.c, ch);
#else
#if ROWS
  let p = i / u.hw;
  let ch = p % u.c;
  let a = coef[ch] * gammaRows[p];
#else
  let ch = (i / u.hw) % u.c;
  let a = coef[ch];
#endif
  let mean = saved[ch];
  let b = coef[u.c + ch];
  let d = coef[2u * u.c + ch];
#endif
  dx[i] = a * dy[i] + b * (x[i] - T(mean)) + d;
}
