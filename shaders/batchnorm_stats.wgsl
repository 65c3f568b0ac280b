// Training-mode BatchNorm statistics, one workgroup per channel, in one pass over the channel: sums of
// d = x − K and d², shifted by K = the channel's first element so that var = E[d²] − E[d]² does not cancel
// badly: E[d]² = (mean − K)² is a few variances for a typical K, not mean² (a second, centred pass over x
// would cost twice as much on llvmpipe). Saves [mean | invstd | gamma·invstd] for the apply and backward kernels and updates the running
// averages in place as PyTorch does (unbiased variance).
// The 64 invocations are split into rows of LANES (a power of two ≥ the row length when rows are short), so
// short H·W rows keep most invocations busy without a division per element.
// ROWS: the affine is per image ([N, C] rows, applied by batchnorm_apply), so the record's last row is invstd.
#include vec4_elements
#if VEC4
fn first(v: vec4f) -> f32 { return v.x; }
#else
fn first(v: f32) -> f32 { return v; }
#endif

struct Params { n: u32, c: u32, hw: u32, lanes: u32, count: f32, eps: f32, momentum: f32, unbias: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> saved: array<f32>;
@group(0) @binding(3) var<storage, read_write> runMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> runVar: array<f32>;
#if ROWS
fn gammaOf(c: u32) -> f32 { return 1.0; }
#else
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
fn gammaOf(c: u32) -> f32 { return gamma[c]; }
#endif

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
  let rows = WG / u.lanes;
  let row = t / u.lanes;
  let lane = t % u.lanes;
  let shift = first(x[c * u.hw]);
  var s1 = 0.0;
  var s2 = 0.0;
  for (var n = row; n < u.n; n += rows) {
    let base = (n * u.c + c) * u.hw;
    for (var j = lane; j < u.hw; j += u.lanes) {
      let d = x[base + j] - T(shift);
      s1 += hsum(d);
      s2 += hsum(d * d);
    }
  }
  let sums = workgroupSum(t, vec2f(s1, s2)) / u.count;
  let mean = shift + sums.x;
  let variance = max(sums.y - sums.x * sums.x, 0.0);
  if (t == 0u) {
    let invstd = 1.0 / sqrt(variance + u.eps);
    saved[c] = mean;
    saved[u.c + c] = invstd;
    saved[2u * u.c + c] = gammaOf(c) * invstd;
    runMean[c] = (1.0 - u.momentum) * runMean[c] + u.momentum * mean;
    runVar[c] = (1.0 - u.momentum) * runVar[c] + u.momentum * variance * u.unbias;
  }
}
