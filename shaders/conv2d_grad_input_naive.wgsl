// Gradient of conv2d w.r.t. its input (also conv-transpose's forward), one input element per invocation:
// dx[n, ci, ih, iw] = bias[ci] + Σ dy[n, co, oh, ow] · w[co, ci, kh, kw] over ih + p = oh·s + kh, iw + p = ow·s + kw.
// kh runs only over the taps with (ih + p − kh) divisible by the stride.
struct Params { n: u32, cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, oh: u32, ow: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
#if BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
#else
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n * u.cin * u.h * u.w) { return; }
  let iw = i % u.w;
  let ih = (i / u.w) % u.h;
  let ci = (i / (u.w * u.h)) % u.cin;
  let n = i / (u.w * u.h * u.cin);
  let th = ih + u.pad;
  let tw = iw + u.pad;
  var acc = 0.0;
  for (var co = 0u; co < u.cout; co++) {
    for (var kh = th % u.stride; kh < u.kh && kh <= th; kh += u.stride) {
      let oh = (th - kh) / u.stride;
      if (oh >= u.oh) { continue; }
      let dyRow = ((n * u.cout + co) * u.oh + oh) * u.ow;
      let wRow = ((co * u.cin + ci) * u.kh + kh) * u.kw;
      for (var kw = tw % u.stride; kw < u.kw && kw <= tw; kw += u.stride) {
        let ow = (tw - kw) / u.stride;
        if (ow >= u.ow) { continue; }
        acc += dy[dyRow + ow] * wt[wRow + kw];
      }
    }
  }
#if BIAS
  acc += bias[ci];
#endif
  dx[i] = acc;
}
