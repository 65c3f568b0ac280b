// Direct conv2d, one output per invocation:
// y[n, co, oh, ow] = bias[co] + Σ_{ci, kh, kw} x[n, ci, oh·s − p + kh, ow·s − p + kw] · w[co, ci, kh, kw].
struct Params { n: u32, cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, oh: u32, ow: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
#if BIAS
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n * u.cout * u.oh * u.ow) { return; }
  let ow = i % u.ow;
  let oh = (i / u.ow) % u.oh;
  let co = (i / (u.ow * u.oh)) % u.cout;
  let n = i / (u.ow * u.oh * u.cout);
  var acc = 0.0;
  for (var ci = 0u; ci < u.cin; ci++) {
    for (var kh = 0u; kh < u.kh; kh++) {
      let ih = i32(oh * u.stride + kh) - i32(u.pad);
      if (ih < 0 || ih >= i32(u.h)) { continue; }
      let xRow = ((n * u.cin + ci) * u.h + u32(ih)) * u.w;
      let wRow = ((co * u.cin + ci) * u.kh + kh) * u.kw;
      for (var kw = 0u; kw < u.kw; kw++) {
        let iw = i32(ow * u.stride + kw) - i32(u.pad);
        if (iw < 0 || iw >= i32(u.w)) { continue; }
        acc += x[xRow + u32(iw)] * wt[wRow + kw];
      }
    }
  }
#if BIAS
  acc += bias[co];
#endif
  y[i] = acc;
}
