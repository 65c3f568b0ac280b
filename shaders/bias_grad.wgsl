// db[c] = Σ_{n, s} dy[n, c, s] for dy viewed as [N, C, S]: one workgroup per channel, 64 strided partial sums
// combined by a tree in workgroup memory (so one big channel still spreads over many lanes).
struct Params { n: u32, c: u32, s: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32) {
  let c = wid.x;
  var acc = 0.0;
  for (var j = lane; j < u.n * u.s; j += 64u) {
    acc += dy[((j / u.s) * u.c + c) * u.s + j % u.s];
  }
  partial[lane] = acc;
  workgroupBarrier();
  for (var half = 32u; half > 0u; half >>= 1u) {
    if (lane < half) { partial[lane] += partial[lane + half]; }
    workgroupBarrier();
  }
  if (lane == 0u) { db[c] = partial[0]; }
}
