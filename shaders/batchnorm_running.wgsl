// Eval-mode BatchNorm: turns the running statistics into the same [mean | invstd | gamma·invstd] record the
// training statistics kernel saves, so apply and backward are shared (and backward sees a snapshot).
// ROWS: the affine is per image, so the record's last row is invstd (as in batchnorm_stats).
struct Params { c: u32, eps: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> runMean: array<f32>;
@group(0) @binding(2) var<storage, read> runVar: array<f32>;
@group(0) @binding(3) var<storage, read_write> saved: array<f32>;
#if ROWS
fn gammaOf(c: u32) -> f32 { return 1.0; }
#else
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
fn gammaOf(c: u32) -> f32 { return gamma[c]; }
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * 64u;
  if (c >= u.c) { return; }
  let invstd = 1.0 / sqrt(runVar[c] + u.eps);
  saved[c] = runMean[c];
  saved[u.c + c] = invstd;
  saved[2u * u.c + c] = gammaOf(c) * invstd;
}
