// Copies one input of a concatenation into its slice of the output, or (SLICE) the slice back out.
// Viewed as [outer, inner] inside [outer, outInner] at column `offset`; all counts in T elements.
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, inner: u32, outInner: u32, offset: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read_write> dst: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let wide = (i / u.inner) * u.outInner + u.offset + i % u.inner;
#if SLICE
  dst[i] = src[wide];
#else
  dst[wide] = src[i];
#endif
}
