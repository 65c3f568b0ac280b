// dx = dy * f'(x), with f' written from x (and from y = f(x) where that is cheaper). OP as in unary.wgsl; the
// cases come from the table in src/kernels/unary-ops.ts (UNARY_GRAD_CASES), one `case CODEu { return f'; }` per op.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> y: array<T>;
@group(0) @binding(3) var<storage, read> dy: array<T>;
@group(0) @binding(4) var<storage, read_write> dx: array<T>;

override OP: u32;

fn df(xv: T, yv: T) -> T {
  switch OP {
${UNARY_GRAD_CASES}
    default { return T(0.0); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  dx[i] = dy[i] * df(x[i], y[i]);
}
