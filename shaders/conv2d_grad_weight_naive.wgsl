// Gradient of conv2d w.r.t. its weight, one weight element per invocation:
// dw[co, ci, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh·s − p + kh, ow·s − p + kw].
struct Params { n: u32, cin: u32, h: u32, w: u32, cout: u32, kh: u32, kw: u32, oh: u32, ow: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.cout * u.cin * u.kh * u.kw) { return; }
  let kw = i % u.kw;
  let kh = (i / u.kw) % u.kh;
  let ci = (i / (u.kw * u.kh)) % u.cin;
  let co = i / (u.kw * u.kh * u.cin);
  var acc = 0.0;
  for (var n = 0u; n < u.n; n++) {
    for (var oh = 0u; oh < u.oh; oh++) {
      let ih = i32(oh * u.stride + kh) - i32(u.pad);
      if (ih < 0 || ih >= i32(u.h)) { continue; }
      let xRow = ((n * u.cin + ci) * u.h + u32(ih)) * u.w;
      let dyRow = ((n * u.cout + co) * u.oh + oh) * u.ow;
      for (var ow = 0u; ow < u.ow; ow++) {
        let iw = i32(ow * u.stride + kw) - i32(u.pad);
        if (iw < 0 || iw >= i32(u.w)) { continue; }
        acc += dy[dyRow + ow] * x[xRow + u32(iw)];
      }
    }
  }
  dw[i] = acc;
}
