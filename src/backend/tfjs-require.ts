/**
 * TensorFlow.js's packages are CommonJS files; bstune is ESM. Importing a CommonJS file
 * makes Node read and scan its whole source for export names (cjs-module-lexer, and
 * module-format detection) on top of loading it: for tfjs-core, tfjs-layers and
 * tfjs-backend-wasm (3 MB) that is ~0.35 s of CPU, about as much as loading them.
 * require() skips the scan. Every trial process (and each data-parallel worker thread)
 * loads TensorFlow.js afresh, so this is paid once per trial: load tfjs only through here,
 * never with `import` (one `import` anywhere pays the scan again).
 */
import { createRequire } from 'node:module';
import type * as Core from '@tensorflow/tfjs-core';

export const requireTf: NodeJS.Require = createRequire(import.meta.url);

/** @tensorflow/tfjs-core, loaded with require(); for types, `import type * as tfc from '@tensorflow/tfjs-core'`. */
export const tfCore = requireTf('@tensorflow/tfjs-core') as typeof Core;
