// y = (x − mean[c]) · gamma[c]·invstd[c] + beta[c] over NCHW, from the saved [mean | invstd | gamma·invstd].
// VEC4: H·W is a multiple of 4, so each vector lies in one plane (hw counts vectors per plane).
// PACKED (with VEC4): H·W is not, but the whole tensor is and H·W ≥ 4, so a vector straddles at most one plane
// boundary and each lane picks its own channel (hw counts elements) — vector loads beat one element per lane.
// ROWS: the affine is per image: y = (x − mean[c]) · invstd[c]·gammaRows[n, c] + betaRows[n, c] (the record's
// last row is invstd; beta holds the [N, C] shift rows).
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { total: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> saved: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;
#if ROWS
@group(0) @binding(5) var<storage, read> gammaRows: array<f32>;
#endif

#if PACKED
#include batchnorm_channels

fn gather(offset: u32, ch: vec4u) -> vec4f {
  return vec4f(saved[offset + ch.x], saved[offset + ch.y], saved[offset + ch.z], saved[offset + ch.w]);
}
#endif

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.total) { return; }
#if PACKED && ROWS
  let p = planes(i);
  let ch = p % vec4u(u.c);
  let mean = gather(0u, ch);
  let scale = gather(2u * u.c, ch) * vec4f(gammaRows[p.x], gammaRows[p.y], gammaRows[p.z], gammaRows[p.w]);
  let shift = vec4f(beta[p.x], beta[p.y], beta[p.z], beta[p.w]);
#elif PACKED
  let ch = channels(i);
  let mean = gather(0u, ch);
  let scale = gather(2u * u.c, ch);
  let shift = vec4f(beta[ch.x], beta[ch.y], beta[ch.z], beta[ch.w]);
#elif ROWS
  let p = i / u.hw;
  let ch = p % u.c;
  let mean = saved[ch];
  let scale = saved[2u * u.c + ch] * gammaRows[p];
  let shift = beta[p];
#else
  let ch = (i / u.hw) % u.c;
  let mean = saved[ch];
  let scale = saved[2u * u.c + ch];
  let shift = beta[ch];
#endif
  y[i] = (x[i] - T(mean)) * scale + shift;
}
