// Unfolds x [N, Cin, H, W] into col [K = Cin·kH·kW, M = N·OH·OW]:
// col[(ci·kH + kh)·kW + kw, (n·OH + oh)·OW + ow] = x[n, ci, oh·s − p + kh, ow·s − p + kw] (0 in the padding).
// Each invocation fills four consecutive columns of one row (one vec4 store when M is a multiple of 4).
// TEX writes col into an rgba32float texture instead, texel (j/4, k) = col[k, j..j+3], for matmul.wgsl's TEX.
// The geometry is fixed per pipeline (override constants), so LLVM turns every division by it into a multiply:
// with run-time divisors the index arithmetic, not the memory traffic, dominated this kernel on llvmpipe.
override N: u32; override CIN: u32; override H: u32; override W: u32; override KH: u32; override KW: u32;
override OH: u32; override OW: u32; override STRIDE: u32; override PAD: u32;
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
  let m = N * OH * OW;
  let quads = (m + 3u) / 4u;
  let k = i / quads;
  if (k >= CIN * KH * KW) { return; }
  let j0 = (i - k * quads) * 4u;
  let kw = k % KW;
  let kh = (k / KW) % KH;
  let ci = k / (KW * KH);
  var v = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    // every lane loads (element 0 where the tap falls in the padding) so no lane branches alone
    let j = j0 + q;
    let ow = j % OW;
    let oh = (j / OW) % OH;
    let n = j / (OW * OH);
    let ih = oh * STRIDE + kh - PAD;
    let iw = ow * STRIDE + kw - PAD;
    let inside = n < N && oh * STRIDE + kh >= PAD && ih < H && ow * STRIDE + kw >= PAD && iw < W;
    let value = x[select(0u, ((n * CIN + ci) * H + ih) * W + iw, inside)];
    v[q] = select(0.0, value, inside);
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
