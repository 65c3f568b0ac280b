// Unfolds x [N, Cin, H, W] into col [K = Cin·kH·kW, M = N·OH·OW]:
// col[(ci·kH + kh)·kW + kw, (n·OH + oh)·OW + ow] = x[n, ci, oh·s − p + kh, ow·s − p + kw] (0 in the padding).
// Each invocation fills four consecutive columns of one row (one vec4 store when M is a multiple of 4),
// decomposing its first column index once and stepping the rest: integer division is slow on CPU backends.
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
  var ow = j0 % OW;
  var oh = (j0 / OW) % OH;
  var n = j0 / (OW * OH);
  var v = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    let ih = i32(oh * STRIDE + kh) - i32(PAD);
    let iw = i32(ow * STRIDE + kw) - i32(PAD);
    if (n < N && ih >= 0 && ih < i32(H) && iw >= 0 && iw < i32(W)) {
      v[q] = x[((n * CIN + ci) * H + u32(ih)) * W + u32(iw)];
    }
    ow++;
    if (ow == OW) {
      ow = 0u;
      oh++;
      if (oh == OH) { oh = 0u; n++; }
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
