// Included by batchnorm_apply and batchnorm_grad_apply (PACKED): the channel of each of the 4 elements of
// vector i, when H·W is not a multiple of 4 so a vector may straddle one plane boundary. Needs u.hw and u.c.
fn channels(i: u32) -> vec4u {
  let first = 4u * i;
  let plane = first / u.hw;
  let ch = plane % u.c;
  let next = select(ch + 1u, 0u, ch + 1u == u.c);
  let crossed = vec4u(first - plane * u.hw) + vec4u(0u, 1u, 2u, 3u) >= vec4u(u.hw);
  return select(vec4u(ch), vec4u(next), crossed);
}

// The (n, c) plane of each of the 4 elements of vector i (ROWS: the per-image affine's row index n·C + c).
fn planes(i: u32) -> vec4u {
  let first = 4u * i;
  let plane = first / u.hw;
  let crossed = vec4u(first - plane * u.hw) + vec4u(0u, 1u, 2u, 3u) >= vec4u(u.hw);
  return select(vec4u(plane), vec4u(plane + 1u), crossed);
}
