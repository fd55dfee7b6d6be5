/** Gradients for the wasm backend built from its fast XNNPACK paths (filled in by the perf work). */
export function registerWasmTrainingKernels(): void {}
