// C[M,N] = op(A)·op(B), the reference path: one output per invocation, a plain loop over K. The transposes
// are folded into strides: op(A)[m, k] = a[m * aRow + k * aCol], op(B)[k, n] = b[k * bRow + n * bCol].
struct Params { M: u32, N: u32, K: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.M * u.N) { return; }
  let m = i / u.N;
  let n = i % u.N;
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) {
    acc += a[m * u.aRow + k * u.aCol] * b[k * u.bRow + n * u.bCol];
  }
  c[i] = acc;
}
