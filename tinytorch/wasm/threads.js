// A second thread for tinytorch's large matrix products (loaded by tinytorch/wasm/threads.py).
//
// Pyodide's heap is not shared memory, so the helper thread cannot read numpy's arrays. For a
// product C = A B it gets a copy of B and of the first rows of A in a shared WebAssembly.Memory,
// computes those rows of C there with the same kernels (a copy of kernels.wasm that imports a
// shared memory), while the calling thread computes the other rows in place; then the helper's
// rows are copied into C. Handshake through Atomics on a few control words: no messages, so it
// works while Python keeps the calling thread busy. Needs SharedArrayBuffer (a cross-origin
// isolated page, or Node) and Worker (browsers) or worker_threads (Node).
(sharedBytes, mainExports, heapMemory) => {
  const PAGE = 65536, CONTROL = 64, DATA = 256;  // control words at byte 64, operands from byte 256
  const READY = 0, GO = 1, DONE = 2, ARGS = 4;  // Int32 indices from CONTROL
  const module = new WebAssembly.Module(sharedBytes);
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 32768, shared: true });
  const workerSource = `
    const serve = (module, memory) => {
      const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm_nn;
      const ctl = new Int32Array(memory.buffer, ${CONTROL}, 16);
      Atomics.store(ctl, ${READY}, 1);
      for (;;) {
        Atomics.wait(ctl, ${GO}, 0);
        Atomics.store(ctl, ${GO}, 0);
        const [c, a, b, M, N, K, sam, sak, ldb] = ctl.subarray(${ARGS}, ${ARGS} + 9);
        gemm(c, a, b, M, N, K, sam, sak, ldb, 1, 1, 0, 0, 0, 0);
        Atomics.store(ctl, ${DONE}, 1);
        Atomics.notify(ctl, ${DONE});
      }
    };
    if (typeof process === "object" && process.getBuiltinModule) {
      const { workerData } = process.getBuiltinModule("node:worker_threads");
      serve(workerData.module, workerData.memory);
    } else {
      onmessage = (e) => serve(e.data.module, e.data.memory);
    }`;
  let worker;
  if (typeof Worker === "function") {
    worker = new Worker(URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" })));
    worker.postMessage({ module, memory });
  } else {
    const { Worker: NodeWorker } = process.getBuiltinModule("node:worker_threads");
    worker = new NodeWorker(workerSource, { eval: true, workerData: { module, memory } });
    worker.unref();  // never keeps Node alive
  }
  const ctl = () => new Int32Array(memory.buffer, CONTROL, 16);
  return {
    ready: () => Atomics.load(ctl(), READY) === 1,
    // C (M x N) = A B on Pyodide's heap (byte addresses; strides in floats, all >= 0); the
    // helper does rows [0, split), this thread the rest.
    gemm(c, a, b, M, N, K, sam, sak, ldb, split) {
      const spanA = 4 * ((split - 1) * sam + (K - 1) * sak + 1), spanB = 4 * ((K - 1) * ldb + N);
      const offA = DATA, offB = offA + spanA + 64, offC = offB + spanB + 64, end = offC + 4 * split * N;
      if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
      const shared = new Uint8Array(memory.buffer), heap = new Uint8Array(heapMemory.buffer);
      shared.set(heap.subarray(a, a + spanA), offA);
      shared.set(heap.subarray(b, b + spanB), offB);
      const words = ctl();
      words.set([offC, offA, offB, split, N, K, sam, sak, ldb], ARGS);
      Atomics.store(words, DONE, 0);
      Atomics.store(words, GO, 1);
      Atomics.notify(words, GO);
      mainExports.gemm_nn(c + 4 * split * N, a + 4 * split * sam, b, M - split, N, K, sam, sak, ldb, 1, 1, 0, 0, 0, 0);
      Atomics.wait(words, DONE, 0);
      new Uint8Array(heapMemory.buffer).set(new Uint8Array(memory.buffer, offC, 4 * split * N), c);
    },
    close: () => worker.terminate(),
  };
}
