/** A model's regularizers are named in the trial's model line: bstune trains the data loss only, so it says which it leaves out. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { unappliedRegularizers } from '../src/model/info.js';

describe('regularizers bstune does not apply', () => {
  it('names each layer and kind (kernel, bias; tfjs refuses activity regularizers when the model is built); none for a plain model', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu', name: 'hidden', kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }) }),
        tf.layers.dense({ units: 2, name: 'logits', biasRegularizer: 'l1l2' }),
      ],
    });
    expect(unappliedRegularizers(m)).toEqual(['hidden kernel', 'logits bias']);
    const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    expect(unappliedRegularizers(plain)).toEqual([]);
    m.dispose();
    plain.dispose();
  });
});
