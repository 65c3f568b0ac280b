// y = x read through per-axis strides (a strided view made contiguous): y[i] = x[Σ coordₖ · strideₖ].
struct Params {
  n: u32, rank: u32, p0: u32, p1: u32,
  dims: array<vec4u, 2>,
  strides: array<vec4u, 2>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  var rest = i;
  var ix = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = u.dims[k / 4u][k % 4u];
    ix += (rest % size) * u.strides[k / 4u][k % 4u];
    rest = rest / size;
  }
  y[i] = x[ix];
}
