// Per-image-affine BatchNorm backward, second pass (ROWS): per channel, the coefficients of
// dx = a·gammaRows[n, c]·dy + b·(x − mean) + d (batchnorm_grad_apply), where dx̂ = gammaRows·dy sums to
// S1 = Σₙ gammaRows·dbetaRows and Σdx̂·x̂ = S2 = Σₙ gammaRows·dgammaRows:
//   TRAIN: a = invstd, b = −invstd²·S2/M, d = −invstd·S1/M;   eval: a = invstd, b = d = 0.
struct Params { n: u32, c: u32, count: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> gammaRows: array<f32>;
@group(0) @binding(3) var<storage, read> dgammaRows: array<f32>;
@group(0) @binding(4) var<storage, read> dbetaRows: array<f32>;
@group(0) @binding(5) var<storage, read_write> coef: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * 64u;
  if (c >= u.c) { return; }
  let invstd = saved[u.c + c];
  coef[c] = invstd;
  // (summed in eval too, where they are not needed: the bindings must be used)
  var s1 = 0.0;
  var s2 = 0.0;
  for (var n = 0u; n < u.n; n++) {
    let r = n * u.c + c;
    s1 += gammaRows[r] * dbetaRows[r];
    s2 += gammaRows[r] * dgammaRows[r];
  }
#if TRAIN
  coef[u.c + c] = -invstd * invstd * s2 / u.count;
  coef[2u * u.c + c] = -invstd * s1 / u.count;
#else
  coef[u.c + c] = 0.0 * s2;
  coef[2u * u.c + c] = 0.0 * s1;
#endif
}
