// Unfolds x [N, Cin, H, W] into col [K = Cin·kH·kW, M = N·OH·OW]:
// col[(ci·kH + kh)·kW + kw, (n·OH + oh)·OW + ow] = x[n, ci, oh·s − p + kh, ow·s − p + kw] (0 in the padding).
// Each invocation fills four consecutive columns of one row (one vec4 store when M is a multiple of 4),
// decomposing its first column index once and stepping the rest: integer division is slow on CPU backends.
// TEX writes col into an rgba32float texture instead, texel (j/4, k) = col[k, j..j+3], for matmul.wgsl's TEX.
struct Params { n: u32, cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, oh: u32, ow: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#if TEX
@group(0) @binding(2) var colTex: texture_storage_2d<rgba32float, write>;
#elif VEC4
@group(0) @binding(2) var<storage, read_write> col: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read_write> col: array<f32>;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let m = u.n * u.oh * u.ow;
  let quads = (m + 3u) / 4u;
  let k = i / quads;
  if (k >= u.cin * u.kh * u.kw) { return; }
  let j0 = (i - k * quads) * 4u;
  let kw = k % u.kw;
  let kh = (k / u.kw) % u.kh;
  let ci = k / (u.kw * u.kh);
  var ow = j0 % u.ow;
  var oh = (j0 / u.ow) % u.oh;
  var n = j0 / (u.ow * u.oh);
  var v = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    let ih = i32(oh * u.stride + kh) - i32(u.pad);
    let iw = i32(ow * u.stride + kw) - i32(u.pad);
    if (n < u.n && ih >= 0 && ih < i32(u.h) && iw >= 0 && iw < i32(u.w)) {
      v[q] = x[((n * u.cin + ci) * u.h + u32(ih)) * u.w + u32(iw)];
    }
    ow++;
    if (ow == u.ow) {
      ow = 0u;
      oh++;
      if (oh == u.oh) { oh = 0u; n++; }
    }
  }
#if TEX
  textureStore(colTex, vec2u(j0 / 4u, k), v);
#elif VEC4
  col[(k * m + j0) / 4u] = v;
#else
  for (var q = 0u; q < 4u; q++) {
    if (j0 + q < m) { col[k * m + j0 + q] = v[q]; }
  }
#endif
}
