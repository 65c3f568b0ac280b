// y = f(x) elementwise. OP (override) picks f; ALPHA is the scalar some ops take. VEC4: 4 lanes per element.
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
    case 0u { return -v; }
    case 1u { return exp(v); }
    case 2u { return log(v); }
    case 3u { return sqrt(v); }
    case 4u { return max(v, T(0.0)); }
    case 5u { return select(v * u.alpha, v, v > T(0.0)); }
    case 6u { return tanh(v); }
    case 7u { return 1.0 / (1.0 + exp(-v)); }
    case 8u { return v + u.alpha; }
    case 9u { return v * u.alpha; }
    case 10u { return T(u.alpha); }
    case 11u { return v * v; }
    default { return v; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  y[i] = f(x[i]);
}
