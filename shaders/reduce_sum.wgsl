// Sums the middle axis of a [outer, reduce, inner] view: y[o, i] = Σ_r x[o, r, i], accumulated in f32
// with four partial sums (fewer rounding steps along long axes, and independent adds for the compiler).
struct Params { outer: u32, reduce: u32, inner: u32, scale: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= u.outer * u.inner) { return; }
  let o = j / u.inner;
  let i = j % u.inner;
  let base = o * u.reduce * u.inner + i;
  var acc = vec4f(0.0);
  var r = 0u;
  for (; r + 4u <= u.reduce; r += 4u) {
    acc += vec4f(x[base + r * u.inner], x[base + (r + 1u) * u.inner], x[base + (r + 2u) * u.inner], x[base + (r + 3u) * u.inner]);
  }
  for (; r < u.reduce; r++) { acc.x += x[base + r * u.inner]; }
  y[j] = (acc.x + acc.y + acc.z + acc.w) * u.scale;
}
