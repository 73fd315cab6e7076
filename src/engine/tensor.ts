/** A dense float32 tensor in C order (NCHW for images). The engine only hands out copies. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** A tensor of switches: for each max-pool output cell, the flat index of its max in the plane. */
export interface SwitchTensor {
  shape: number[];
  data: Int32Array;
}
