// Folds col [K = Cin·kH·kW, M = N·OH·OW] back onto dx [N, Cin, H, W] as a gather (no atomics): dx[n, ci, ih, iw]
// sums col[(ci·kH + kh)·kW + kw, (n·OH + oh)·OW + ow] over the taps with ih + p = oh·s + kh, iw + p = ow·s + kw.
// BIAS adds bias[ci] (conv-transpose). STRIDE is a constant so the tap arithmetic has no run-time division.
// Each invocation writes four consecutive elements (one vec4 store when the total is a multiple of 4).
#if VEC4
alias T = vec4f;
#else
alias T = f32;
#endif

struct Params { n: u32, cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, oh: u32, ow: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> col: array<f32>;
#if BIAS
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
#else
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
#endif

override STRIDE: u32;

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
  let m = u.n * u.oh * u.ow;
  let th = taps(ih + u.pad, u.kh, u.oh);
  let tw = taps(iw + u.pad, u.kw, u.ow);
  var acc = 0.0;
  var row = ((ci * u.kh + th.x) * u.kw + tw.x) * m + (n * u.oh + th.z) * u.ow + tw.z;
  let rowStep = STRIDE * u.kw * m - u.ow;
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
  let total = u.n * u.cin * u.h * u.w;
  let e = i * 4u;
  if (e >= total) { return; }
  var iw = e % u.w;
  var ih = (e / u.w) % u.h;
  var ci = (e / (u.w * u.h)) % u.cin;
  var n = e / (u.w * u.h * u.cin);
  var v = vec4f(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (n < u.n) { v[q] = element(n, ci, ih, iw); }
    iw++;
    if (iw == u.w) {
      iw = 0u;
      ih++;
      if (ih == u.h) {
        ih = 0u;
        ci++;
        if (ci == u.cin) { ci = 0u; n++; }
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
