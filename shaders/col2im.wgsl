// Folds col [K = Cin·kH·kW, M = N·OH·OW] back onto dx [N, Cin, H, W] as a gather (no atomics): dx[n, ci, ih, iw]
// sums col[(ci·kH + kh)·kW + kw, (n·OH + oh)·OW + ow] over the taps with ih + p = oh·s + kh, iw + p = ow·s + kw.
// BIAS adds bias[ci] (conv-transpose).
// Each invocation writes four consecutive elements (one vec4 store when the total is a multiple of 4).
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

// The geometry is fixed per pipeline (override constants), so LLVM turns every division by it into a multiply:
// with run-time divisors the index arithmetic, not the memory traffic, dominated this kernel on llvmpipe.
override N: u32; override CIN: u32; override H: u32; override W: u32; override KH: u32; override KW: u32;
override OH: u32; override OW: u32; override STRIDE: u32; override PAD: u32;
@group(0) @binding(1) var<storage, read> col: array<f32>;
#if BIAS
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
#else
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
#endif

// The taps kk of a kernel of size k that reach position t + p from an output o = (t − kk) / STRIDE in [0, size):
// returns (first tap, tap count, output of the first tap); later taps step kk += STRIDE, o -= 1.
fn taps(t: u32, k: u32, size: u32) -> vec3u {
  let reach = (size - 1u) * STRIDE;
  let first = select(t % STRIDE, t - reach, t > reach);
  if (first >= k) { return vec3u(0u); }
  let last = min(k - 1u, t);
  return vec3u(first, (last - first) / STRIDE + 1u, (t - first) / STRIDE);
}

fn element(n: u32, ci: u32, ih: u32, iw: u32) -> f32 {
  let m = N * OH * OW;
  let th = taps(ih + PAD, KH, OH);
  let tw = taps(iw + PAD, KW, OW);
  var acc = 0.0;
  var row = ((ci * KH + th.x) * KW + tw.x) * m + (n * OH + th.z) * OW + tw.z;
  let rowStep = STRIDE * KW * m - OW;
  let colStep = STRIDE * m - 1u;
  for (var a = 0u; a < th.y; a++) {
    var idx = row;
    for (var b = 0u; b < tw.y; b++) {
      acc += col[idx];
      idx += colStep;
    }
    row += rowStep;
  }
#if BIAS
  acc += bias[ci];
#endif
  return acc;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let total = N * CIN * H * W;
  let e = i * 4u;
  if (e >= total) { return; }
  var iw = e % W;
  var ih = (e / W) % H;
  var ci = (e / (W * H)) % CIN;
  var n = e / (W * H * CIN);
  var v = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (n < N) { v[q] = element(n, ci, ih, iw); }
    iw++;
    if (iw == W) {
      iw = 0u;
      ih++;
      if (ih == H) {
        ih = 0u;
        ci++;
        if (ci == CIN) { ci = 0u; n++; }
      }
    }
  }
#if VEC4
  dx[i] = v;
#else
  for (var q = 0u; q < 4u; q++) {
    if (e + q < total) { dx[e + q] = v[q]; }
  }
#endif
}
