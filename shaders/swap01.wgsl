// Swaps the first two axes: out[b, a, s] = in[a, b, s] (+ bias[a] with BIAS), for in viewed as [A, B, S].
// Turns a conv's [C, N, H·W] matmul result into NCHW and back. Each invocation moves four consecutive elements
// of one row; VEC4 (S a multiple of 4) moves them as one vec4.
struct Params { a: u32, b: u32, s: u32 }
@group(0) @binding(0) var<uniform> u: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> src: array<f32>;
#endif
#if BIAS
@group(0) @binding(2) var<storage, read> bias: array<f32>;
#endif
#if VEC4
#if BIAS
@group(0) @binding(3) var<storage, read_write> dst: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;
#endif
#else
#if BIAS
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
#else
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
#endif
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let quads = (u.s + 3u) / 4u;
  let row = i / quads;
  if (row >= u.a * u.b) { return; }
  let s0 = (i - row * quads) * 4u;
  let a = row % u.a;
  let b = row / u.a;
  let at = (a * u.b + b) * u.s + s0;
  let out = row * u.s + s0;
#if BIAS
  let add = bias[a];
#else
  let add = 0.0;
#endif
#if VEC4
  dst[out / 4u] = src[at / 4u] + add;
#else
  for (var q = 0u; q < min(4u, u.s - s0); q++) { dst[out + q] = src[at + q] + add; }
#endif
}
