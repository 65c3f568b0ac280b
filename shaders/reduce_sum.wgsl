// Sums the middle axis of a [outer, reduce, inner] view: y[o, i] = Σ_r x[o, r, i], accumulated in f32
// with four partial sums (fewer rounding steps along long axes, and independent adds for the compiler).
// STRIDED: x is a strided view (expand's zero strides); each output's first element is found through per-axis
// strides of the output's coordinates, and the reduced axis is stepped by its own stride. Same sums, same order.
#if STRIDED
struct Params {
  outer: u32, reduce: u32, inner: u32, scale: f32,
  rank: u32, reduceStride: u32, p0: u32, p1: u32,
  dims: array<vec4u, 2>,
  strides: array<vec4u, 2>,
}
#else
struct Params { outer: u32, reduce: u32, inner: u32, scale: f32 }
#endif
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= u.outer * u.inner) { return; }
#if STRIDED
  var rest = j;
  var base = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = u.dims[k / 4u][k % 4u];
    base += (rest % size) * u.strides[k / 4u][k % 4u];
    rest = rest / size;
  }
  let step = u.reduceStride;
#else
  let o = j / u.inner;
  let i = j % u.inner;
  let base = o * u.reduce * u.inner + i;
  let step = u.inner;
#endif
  var acc = vec4f(0.0);
  var r = 0u;
  for (; r + 4u <= u.reduce; r += 4u) {
    acc += vec4f(x[base + r * step], x[base + (r + 1u) * step], x[base + (r + 2u) * step], x[base + (r + 3u) * step]);
  }
  for (; r < u.reduce; r++) { acc.x += x[base + r * step]; }
  y[j] = (acc.x + acc.y + acc.z + acc.w) * u.scale;
}
