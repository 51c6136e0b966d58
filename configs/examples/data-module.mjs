// Data from code: bstune imports this file and calls loadData() (it may be async). Return
// typed arrays and their shapes, samples first; validation is optional (else
// data.validationSplit holds out a part). This one makes a synthetic 3-class set.
export function loadData() {
  const make = (n, offset) => {
    const x = new Float32Array(n * 8);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = (i + offset) % 3;
      y[i] = c;
      for (let j = 0; j < 8; j++) x[i * 8 + j] = (j % 3 === c ? 1 : 0) + 0.5 * Math.sin(7 * (i + offset) + 3 * j);
    }
    return { x, y };
  };
  const train = make(600, 0);
  const val = make(150, 1);
  return { x: train.x, xShape: [600, 8], y: train.y, yShape: [600], validation: { x: val.x, xShape: [150, 8], y: val.y } };
}
