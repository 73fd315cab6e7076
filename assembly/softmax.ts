/** Softmax over each of N rows of `classes` floats, shifted by the row maximum for range. */

export function softmax(N: i32, classes: i32, x: usize, y: usize): void {
  for (let n = 0; n < N; n++) {
    const xr = x + ((<usize>n * <usize>classes) << 2);
    const yr = y + ((<usize>n * <usize>classes) << 2);
    let m = load<f32>(xr);
    for (let i = 1; i < classes; i++) m = max(m, load<f32>(xr + (<usize>i << 2)));
    let s: f32 = 0;
    for (let i = 0; i < classes; i++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>i << 2)) - m);
      store<f32>(yr + (<usize>i << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let i = 0; i < classes; i++) store<f32>(yr + (<usize>i << 2), load<f32>(yr + (<usize>i << 2)) * inv);
  }
}
