// Mean binary cross-entropy on logits, loss and gradient in one pass, in one workgroup (a GAN's batch of
// logits is small). Per element ℓ = max(x, 0) − x·t + log1p(e^−|x|), which never overflows (x·(1 − t) or −x·t
// for the first two terms), and
// dℓ/dx = (σ(x) − t)/count, written to `grad` for the backward pass. TARGET_TENSOR: t per element; else u.label (one number for all).
#include vec4_elements

struct Params { n: u32, invCount: f32, label: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> logits: array<T>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<T>;
#if TARGET_TENSOR
@group(0) @binding(4) var<storage, read> targets: array<T>;
#endif

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

// log(1 + e) for e in (0, 1]. For small e, 1 + e rounds away e's low bits, so a series keeps full relative
// precision there (truncation error < e^9/9 below 1/8); above it, log(1 + e) is accurate.
fn log1pUnit(e: T) -> T {
  let series = e * (1.0 - e * (1.0 / 2.0 - e * (1.0 / 3.0 - e * (1.0 / 4.0 - e * (1.0 / 5.0 - e * (1.0 / 6.0 - e * (1.0 / 7.0 - e * (1.0 / 8.0))))))));
  return select(log(1.0 + e), series, e < T(0.125));
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var i = t; i < u.n; i += WG) {
    let x = logits[i];
#if TARGET_TENSOR
    let y = targets[i];
#else
    let y = T(u.label);
#endif
    let e = exp(-abs(x));
    let positive = x >= T(0.0);
    acc += hsum(select(-x * y, x * (1.0 - y), positive) + log1pUnit(e));
    // σ(x) = 1 − s for x ≥ 0, else s, with s = e/(1 + e) ≤ 1/2; σ − t is formed from s so that it keeps its
    // relative precision when σ ≈ t = 1.
    let s = e / (1.0 + e);
    grad[i] = select(s - y, (1.0 - y) - s, positive) * u.invCount;
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { partial[t] += partial[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { loss[0] = partial[0] * u.invCount; }
}
