'use strict';
// Entry of each pthread worker of tfjs-backend-wasm's threaded build under Node (see tfjs-wasm-threads.ts).
// The package's own worker code expects a browser: it is handed the main script as a Blob, which Node cannot
// import. Run that worker code here, and point its `load` message at the package's copy of the same script.
const path = require('node:path');

const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));

// The worker code and the script it imports run as classic scripts (global eval): give them `require` and a
// file name. Its template literal turned "\n" inside a string literal into a real newline: put it back.
Object.assign(globalThis, { require, __filename: mainScript });
(0, eval)(wasmWorkerContents.replace(/\n/g, '\\n'));

const handleMessage = globalThis.onmessage;
globalThis.onmessage = (event) => {
  if (event.data.cmd === 'load') event.data.urlOrBlob = mainScript;
  return handleMessage(event);
};
