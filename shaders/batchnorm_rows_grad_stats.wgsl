// Per-image-affine BatchNorm backward, first pass (ROWS): one invocation per (n, c) plane sums dy and
// dy·x̂ over the plane, the gradients of that image's shift and scale rows: dbetaRows[n, c] = Σdy and
// dgammaRows[n, c] = Σdy·x̂. VEC4: H·W is a multiple of 4 (hw counts vectors).
#include vec4_elements

struct Params { planes: u32, c: u32, hw: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgammaRows: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbetaRows: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = gid.x + gid.y * nwg.x * 64u;
  if (p >= u.planes) { return; }
  let ch = p % u.c;
  let mean = T(saved[ch]);
  let base = p * u.hw;
  var sdy = T(0.0);
  var sdyxc = T(0.0);
  for (var j = 0u; j < u.hw; j++) {
    let g = dy[base + j];
    sdy += g;
    sdyxc += g * (x[base + j] - mean);
  }
  dbetaRows[p] = hsum(sdy);
  dgammaRows[p] = hsum(sdyxc) * saved[u.c + ch];
}
