// Differentiable augmentation (Zhao et al. 2020, DiffAugment's rand_translation then rand_cutout) of NCHW images,
// fused: y[n, c, r, j] = keep(n, r, j) · x[n, c, r + tr, j + tc] (0 where the source lies outside the image),
// keep = 0 inside image n's cutout square. Each image's integers come from its four uniform draws in (0, 1)
// [n, 4] (translation rows, columns; cutout centre row, column), mapped as DiffAugment's torch.randint:
//   tr = pick(u0, 2·shiftH + 1) − shiftH, r0 = pick(u2, H + 1 − cutH mod 2) − cutH div 2 (square rows r0…r0+cutH−1).
// GRAD: the transpose, dx[r, j] = keep(r − tr, j − tc) · g[r − tr, j − tc] inside the image, else 0.
// shiftH = 0 turns translation off, cutH = 0 cutout. One invocation per output element.
struct Params { n: u32, c: u32, h: u32, w: u32, shift_h: u32, shift_w: u32, cut_h: u32, cut_w: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> draws: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// An integer uniform on 0…k−1 from a uniform draw in (0, 1); the min guards f32 rounding of u·k up to k.
fn pick(draw: f32, k: u32) -> i32 {
  return min(i32(k) - 1, i32(floor(draw * f32(k))));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let col = i32(i % u.w);
  let rest = i / u.w;
  let row = i32(rest % u.h);
  let plane = rest / u.h;
  let image = plane / u.c;
  let tr = pick(draws[4u * image], 2u * u.shift_h + 1u) - i32(u.shift_h);
  let tc = pick(draws[4u * image + 1u], 2u * u.shift_w + 1u) - i32(u.shift_w);
#if GRAD
  // The output pixel p whose value came from here.
  let r = row - tr;
  let j = col - tc;
#else
  let r = row + tr;
  let j = col + tc;
#endif
  if (r < 0 || r >= i32(u.h) || j < 0 || j >= i32(u.w)) {
    y[i] = 0.0;
    return;
  }
#if GRAD
  let kr = r;
  let kc = j;
#else
  let kr = row;
  let kc = col;
#endif
  var keep = true;
  if (u.cut_h > 0u && u.cut_w > 0u) {
    let r0 = pick(draws[4u * image + 2u], u.h + 1u - u.cut_h % 2u) - i32(u.cut_h / 2u);
    let c0 = pick(draws[4u * image + 3u], u.w + 1u - u.cut_w % 2u) - i32(u.cut_w / 2u);
    keep = !(kr >= r0 && kr < r0 + i32(u.cut_h) && kc >= c0 && kc < c0 + i32(u.cut_w));
  }
  y[i] = select(0.0, x[(plane * u.h + u32(r)) * u.w + u32(j)], keep);
}
