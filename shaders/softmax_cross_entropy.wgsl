// Mean softmax cross-entropy over the rows of [rows, classes] logits, loss and gradient in one pass, in one
// workgroup (a classifier's batch of logits is small). Per row ℓ = Σ_c t_c·(lse − x_c) with
// lse = m + log Σ_c e^(x_c − m), m = max_c x_c (never overflows), and dℓ/dx_c = (Σt·softmax_c − t_c)/rows,
// written to `grad` for the backward pass. Targets are probabilities (one-hot labels or soft targets).
struct Params { rows: u32, classes: u32, invRows: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  var acc = 0.0;
  for (var r = t; r < u.rows; r += WG) {
    let base = r * u.classes;
    var m = logits[base];
    for (var c = 1u; c < u.classes; c++) { m = max(m, logits[base + c]); }
    var total = 0.0;
    var mass = 0.0;
    var dot = 0.0;
    for (var c = 0u; c < u.classes; c++) {
      let x = logits[base + c] - m;
      let y = targets[base + c];
      total += exp(x);
      mass += y;
      dot += y * x;
    }
    // Σ t·(lse − x) with both lse and x shifted by m.
    acc += mass * log(total) - dot;
    let scale = mass / total;
    for (var c = 0u; c < u.classes; c++) {
      grad[base + c] = (exp(logits[base + c] - m) * scale - targets[base + c]) * u.invRows;
    }
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { partial[t] += partial[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { loss[0] = partial[0] * u.invRows; }
}
