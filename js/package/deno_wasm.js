// The wasm as a WebAssembly.Module through a source-phase import (Deno ≥ 2.6); the glue
// supplies its imports when deno.js instantiates it.
import source wasmModule from './automagik_telemetry_full_bg.wasm';

export default wasmModule;
