// c = a OP b with broadcasting. SAME: both operands have the output's shape (vectorised with VEC4);
// otherwise each operand is read through per-axis strides that are 0 on broadcast axes.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params {
  n: u32, rank: u32, p0: u32, p1: u32,
  dims: array<vec4u, 2>,
  strideA: array<vec4u, 2>,
  strideB: array<vec4u, 2>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;

override OP: u32;

fn apply(x: T, y: T) -> T {
  switch OP {
    case 0u { return x + y; }
    case 1u { return x - y; }
    case 2u { return x * y; }
    case 3u { return x / y; }
    default { return x; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
#if SAME
  c[i] = apply(a[i], b[i]);
#else
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = u.dims[k / 4u][k % 4u];
    let coord = rest % size;
    rest = rest / size;
    ia += coord * u.strideA[k / 4u][k % 4u];
    ib += coord * u.strideB[k / 4u][k % 4u];
  }
  c[i] = apply(a[ia], b[ib]);
#endif
}
