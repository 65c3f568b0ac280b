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

// A position t = ih + PAD is reached by the taps kh ≡ t (mod STRIDE) with kh ≤ t, kh < KH and output
// oh = (t − kh) / STRIDE < OH. Every lane walks the same ceil(KH / STRIDE) candidates and masks the invalid
// ones (reading element 0 in their place): on llvmpipe, loops whose trip count differs between lanes run
// masked to the longest anyway, at the cost of the bookkeeping.
override TAPS_H: u32 = (KH + STRIDE - 1u) / STRIDE;
override TAPS_W: u32 = (KW + STRIDE - 1u) / STRIDE;

fn element(n: u32, ci: u32, ih: u32, iw: u32) -> f32 {
  let m = N * OH * OW;
  let th = ih + PAD;
  let tw = iw + PAD;
  var acc = 0.0;
  for (var a = 0u; a < TAPS_H; a++) {
    let kh = th % STRIDE + a * STRIDE;
    let oh = (th - kh) / STRIDE;
    let validH = kh < KH && oh < OH; // kh > th makes oh wrap round past OH
    let rowBase = (ci * KH + kh) * KW * m + (n * OH + oh) * OW;
    for (var b = 0u; b < TAPS_W; b++) {
      let kw = tw % STRIDE + b * STRIDE;
      let ow = (tw - kw) / STRIDE;
      let valid = validH && kw < KW && ow < OW;
      let v = col[select(0u, rowBase + kw * m + ow, valid)];
      acc += select(0.0, v, valid);
    }
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
