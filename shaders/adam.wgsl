// One Adam step in place, as torch.optim.Adam: g += weightDecay·p (L2); m = β1·m + (1−β1)·g;
// v = β2·v + (1−β2)·g²; p −= stepSize·m / (√v·invSqrtBc2 + eps), where stepSize = lr/(1−β1^t) and
// invSqrtBc2 = 1/√(1−β2^t) come from the host in float64.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params {
  n: u32, beta1: f32, oneMinusBeta1: f32, beta2: f32,
  oneMinusBeta2: f32, eps: f32, stepSize: f32, invSqrtBc2: f32,
  weightDecay: f32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> param: array<T>;
@group(0) @binding(2) var<storage, read> grad: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let p = param[i];
  let g = grad[i] + u.weightDecay * p;
  let mi = u.beta1 * m[i] + u.oneMinusBeta1 * g;
  let vi = u.beta2 * v[i] + u.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = p - u.stepSize * mi / (sqrt(vi) * u.invSqrtBc2 + u.eps);
}
