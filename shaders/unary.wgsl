// y = f(x) elementwise. OP (override) picks f; u.alpha is the scalar some ops take. VEC4: 4 lanes per element.
// The cases come from the table in src/kernels/unary-ops.ts (UNARY_CASES), one `case CODEu { return f(v); }` per op.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

override OP: u32;

fn f(v: T) -> T {
  switch OP {
${UNARY_CASES}
    default { return v; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  y[i] = f(x[i]);
}
