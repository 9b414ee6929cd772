// The small Layers models TensorFlow.js saves for the interop checks. No training and no random
// initializers: every weight is set explicitly from a fixed formula, so the files, the hashes and
// the predictions are the same on every run.
import {tf} from './lib/common.mjs';

function deterministicValues(k, n, positive) {
  const values = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    const v = ((i * 7919 + 13 + 104729 * k) % 2003) / 2003 - 0.5;
    values[i] = positive ? 0.5 + Math.abs(v) : v;
  }
  return values;
}

function setDeterministicWeights(model) {
  const weights = model.weights.map((w, k) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const positive = /moving_variance|gamma/.test(w.originalName);
    return tf.tensor(deterministicValues(k, n, positive), w.shape, 'float32');
  });
  model.setWeights(weights);
  tf.dispose(weights);
}

export const MODELS = {
  // The shape of golden/file-save: Conv2D, MaxPooling2D, Flatten, two Dense layers.
  convnet: {
    build() {
      const model = tf.sequential({name: 'interop_convnet'});
      model.add(tf.layers.conv2d({name: 'conv', inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu'}));
      model.add(tf.layers.maxPooling2d({name: 'pool', poolSize: 2}));
      model.add(tf.layers.flatten({name: 'flatten'}));
      model.add(tf.layers.dense({name: 'dense1', units: 8, activation: 'relu'}));
      model.add(tf.layers.dense({name: 'dense2', units: 3, activation: 'softmax'}));
      setDeterministicWeights(model);
      return {model, saveConfig: {}};
    },
  },
  // A non-ASCII model name (UTF-8 byte counts; layer names must be ASCII), BatchNormalization (non-trainable
  // weights), a Dense layer without bias, user metadata full of JSON serialization corner cases
  // (raw UTF-8, escapes, U+2028, JS number formatting), and an optimizer saved with the model
  // (trainingConfig + an int32 weight in group "optimizer").
  rich: {
    build() {
      const model = tf.sequential({name: 'modèle_riche ☃'});
      model.add(tf.layers.conv2d({name: 'conv_x', inputShape: [6, 6, 2], filters: 3, kernelSize: 2, activation: 'tanh'}));
      model.add(tf.layers.batchNormalization({name: 'bn'}));
      model.add(tf.layers.flatten({name: 'flatten'}));
      model.add(tf.layers.dense({name: 'dense_nobias', units: 5, useBias: false, activation: 'relu'}));
      model.add(tf.layers.dense({name: 'out', units: 2, activation: 'softmax'}));
      setDeterministicWeights(model);
      model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
      model.setUserDefinedMetadata({
        text: 'naïve café ☃ 日本語 😀 \u2028\u2029 \u007f end',
        controls: '\u0000\u0001\b\t\n\f\r\u001f"\\/',
        numbers: [0, -0, 1, -1, 0.1, 1 / 3, 2 / 3, 1e21, 1e-7, 123456789012345680000, 5e-324,
          1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, 0.000001, 1.5e-10, 100, 1e20, 4.35,
          -2.5e-8, 0.1 + 0.2, Math.PI, 255 / 65535],
        nested: {empty_object: {}, empty_array: [], null: null, true: true, false: false, deep: [[[1, [2, {}]]]]},
        'ключ': 'значение',
      });
      return {model, saveConfig: {includeOptimizer: true}};
    },
  },
  // JSON.stringify writes a lone surrogate as a 6-byte escape ("\ud800"), in the topology (the
  // model name; tfjs counts the escaped form in modelTopologyBytes) and in the metadata. Such
  // strings come from JS code that cuts a string in the middle of a surrogate pair.
  surrogate: {
    build() {
      const model = tf.sequential({name: 'lone_\ud800_surrogate'});
      model.add(tf.layers.dense({name: 'dense', inputShape: [4], units: 2}));
      setDeterministicWeights(model);
      model.setUserDefinedMetadata({note: 'lone \ud800 high, lone \udc00 low, pair \ud83d\ude00'});
      return {model, saveConfig: {}};
    },
  },
};
