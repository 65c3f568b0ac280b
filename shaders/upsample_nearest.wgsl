// Nearest-neighbour upsampling of NCHW planes by an integer scale: each invocation reads one input element
// and writes its scale×scale block.
struct Params { n: u32, h: u32, w: u32, scale: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let col = i % u.w;
  let rest = i / u.w;
  let row = rest % u.h;
  let plane = rest / u.h;
  let ow = u.w * u.scale;
  let base = (plane * u.h * u.scale + row * u.scale) * ow + col * u.scale;
  let value = x[i];
  for (var a = 0u; a < u.scale; a++) {
    for (var b = 0u; b < u.scale; b++) { y[base + a * ow + b] = value; }
  }
}
