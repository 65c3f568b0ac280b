// BatchNorm backward, per channel (one workgroup each, rows as in batchnorm_stats): Σdy → dbeta and
// Σdy·x̂ → dgamma, then the per-channel coefficients of dx = a·dy + b·(x − mean) + d:
//   TRAIN: a = γ·invstd, b = −a·invstd·Σdy·x̂/M, d = −a·Σdy/M;   eval (running stats are constants): a = γ·invstd.
#include vec4_elements

struct Params { n: u32, c: u32, hw: u32, lanes: u32, count: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<storage, read_write> coef: array<f32>;

const WG = 64u;
var<workgroup> partial: array<vec2f, WG>;

// Both sums in one tree.
fn workgroupSum(t: u32, v: vec2f) -> vec2f {
  partial[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { partial[t] += partial[t + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x;
  let mean = saved[c];
  let rows = WG / u.lanes;
  let row = t / u.lanes;
  let lane = t % u.lanes;
  var sdy = 0.0;
  var sdyxc = 0.0;
  for (var n = row; n < u.n; n += rows) {
    let base = (n * u.c + c) * u.hw;
    for (var j = lane; j < u.hw; j += u.lanes) {
      let g = dy[base + j];
      sdy += hsum(g);
      sdyxc += hsum(g * (x[base + j] - T(mean)));
    }
  }
  let sums = workgroupSum(t, vec2f(sdy, sdyxc));
  let sumDy = sums.x;
  let sumDyXc = sums.y;
  if (t == 0u) {
    let invstd = saved[u.c + c];
    let a = saved[2u * u.c + c];
    let sumDyXhat = sumDyXc * invstd;
    dgamma[c] = sumDyXhat;
    dbeta[c] = sumDy;
    coef[c] = a;
#if TRAIN
    coef[u.c + c] = -a * invstd * sumDyXhat / u.count;
    coef[2u * u.c + c] = -a * sumDy / u.count;
#else
    coef[u.c + c] = 0.0;
    coef[2u * u.c + c] = 0.0;
#endif
  }
}
