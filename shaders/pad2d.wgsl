// Per-side zero padding of NCHW planes, or cropping where a side is negative: y[p, i, j] = x[p, i − top, j − left]
// when that lies inside x, else 0. One invocation per output element. Cropping is padding's gradient.
struct Params { n: u32, h: u32, w: u32, oh: u32, ow: u32, top: i32, left: i32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let col = i32(i % u.ow);
  let rest = i / u.ow;
  let row = i32(rest % u.oh);
  let plane = rest / u.oh;
  let r = row - u.top;
  let c = col - u.left;
  var value = 0.0;
  if (r >= 0 && r < i32(u.h) && c >= 0 && c < i32(u.w)) {
    value = x[(plane * u.h + u32(r)) * u.w + u32(c)];
  }
  y[i] = value;
}
