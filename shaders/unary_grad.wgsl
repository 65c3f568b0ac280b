// dx = dy * f'(x), with f' written from x (and from y = f(x) where that is cheaper). OP as in unary.wgsl.
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
    case 0u { return T(-1.0); }
    case 1u { return yv; }
    case 2u { return 1.0 / xv; }
    case 3u { return 0.5 / yv; }
    case 4u { return select(T(0.0), T(1.0), xv > T(0.0)); }
    case 5u { return select(T(u.alpha), T(1.0), xv > T(0.0)); }
    case 6u { return 1.0 - yv * yv; }
    case 7u { return yv * (1.0 - yv); }
    case 8u { return T(1.0); }
    case 9u { return T(u.alpha); }
    case 11u { return 2.0 * xv; }
    default { return T(0.0); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  dx[i] = dy[i] * df(x[i], y[i]);
}
