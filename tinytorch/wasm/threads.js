// A second thread for tinytorch's large matrix products (loaded by tinytorch/wasm/threads.py).
//
// Pyodide's heap is not shared memory, so the helper thread cannot read numpy's arrays. For a
// product C = A B this thread copies A and B into a shared WebAssembly.Memory and wakes the
// helper; C's rows are cut into up to CHUNKS chunks that the two threads claim one at a time,
// the helper from the top (into the shared memory, with a copy of kernels.wasm that imports it),
// this thread from the bottom (in place), until they meet. Then the helper's finished chunks are
// copied into C, and a chunk it is still computing after this thread's own chunk time is
// computed here too. So a helper that wakes late, runs slower or loses its core to another
// program costs at most one chunk: with a fixed half each, this thread waited for it (in
// Chromium the step then swung between 66 and 130 ms). While the helper is still busy with an
// earlier product (whose chunk was taken back), the next product runs here alone.
// `pair` runs two independent products (a linear layer's dx and dW): the second is posted to the
// helper as above, this thread computes the first whole, then joins the second, or (later) goes
// back to Python and joins it only before the next product is posted (settle): the backward pass
// goes on while the helper finishes dW.
// Handshake through Atomics on a few control words, no messages, so it works while Python keeps
// this thread busy. Needs SharedArrayBuffer (a cross-origin isolated page, or Node) and Worker
// (browsers) or worker_threads (Node).
//
// Claims: claim[i] < 2 s + 1 means chunk i is free in product number s; the helper claims it by
// writing 2 s + 1, this thread by writing 2 s + 2 (compareExchange: only one wins). A product
// ends with every chunk claimed and values only grow, so a helper that wakes after its product
// is over cannot claim anything. done[i] = s once the helper has written chunk i of product s.
(sharedBytes, mainExports, heapMemory) => {
  const PAGE = 65536, CONTROL = 64, CHUNKS = 16, DATA = 512;  // control words at byte 64, operands from 512
  const READY = 0, SEQ = 1, BUSY = 2, ARGS = 4, CLAIM = 16, DONE = CLAIM + CHUNKS;  // Int32 indices
  const SPIN = 20000;  // Atomics.load polls (~50 us) before the helper sleeps in Atomics.wait
  // every chunk reads all of B: at least 16 rows each (a weight gradient's B is 768 rows long)
  const MIN_ROWS = 16;
  const module = new WebAssembly.Module(sharedBytes);
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 32768, shared: true });
  const workerSource = `
    const serve = (module, memory) => {
      const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm_nn;
      const ctl = new Int32Array(memory.buffer, ${CONTROL}, ${DONE + CHUNKS});
      Atomics.store(ctl, ${READY}, 1);
      let seen = 0;
      for (;;) {
        let seq = Atomics.load(ctl, ${SEQ});
        for (let i = 0; seq === seen && i < ${SPIN}; i++) seq = Atomics.load(ctl, ${SEQ});
        if (seq === seen) {
          Atomics.wait(ctl, ${SEQ}, seen);
          continue;
        }
        seen = seq;
        Atomics.store(ctl, ${BUSY}, 1);
        const [c, a, b, M, N, K, sam, sak, ldb, rows, chunks] = ctl.subarray(${ARGS}, ${ARGS} + 11);
        const mine = 2 * seq + 1;
        for (let i = 0; i < chunks; i++) {
          const old = Atomics.load(ctl, ${CLAIM} + i);
          if (old >= mine || Atomics.compareExchange(ctl, ${CLAIM} + i, old, mine) !== old) break;
          const m0 = i * rows;
          gemm(c + 4 * m0 * N, a + 4 * m0 * sam, b, Math.min(rows, M - m0), N, K, sam, sak, ldb, 1, 1, 0, 0, 0, 0);
          Atomics.store(ctl, ${DONE} + i, seq);
        }
        Atomics.store(ctl, ${BUSY}, 0);
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
  const ctl = () => new Int32Array(memory.buffer, CONTROL, DONE + CHUNKS);
  const here = (c, a, b, M, N, K, sam, sak, ldb) => mainExports.gemm_nn(c, a, b, M, N, K, sam, sak, ldb, 1, 1, 0, 0, 0, 0);
  let seq = 0;
  // Copy A and B of C = A B into the shared memory and hand its chunks out to the helper.
  const post = (c, a, b, M, N, K, sam, sak, ldb) => {
    const rows = Math.max(MIN_ROWS, 4 * Math.ceil(M / (4 * CHUNKS))), chunks = Math.ceil(M / rows);
    const spanA = 4 * ((M - 1) * sam + (K - 1) * sak + 1), spanB = 4 * ((K - 1) * ldb + N);
    const offA = DATA, offB = offA + spanA + 64, offC = offB + spanB + 64, end = offC + 4 * M * N;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
    const shared = new Uint8Array(memory.buffer), heap = new Uint8Array(heapMemory.buffer);
    shared.set(heap.subarray(b, b + spanB), offB);
    shared.set(heap.subarray(a, a + spanA), offA);
    const words = ctl();
    seq += 1;
    words.fill(2 * seq, CLAIM, CLAIM + chunks);
    words.set([offC, offA, offB, M, N, K, sam, sak, ldb, rows, chunks], ARGS);
    Atomics.store(words, SEQ, seq);
    Atomics.notify(words, SEQ);
    return { c, a, b, M, N, K, sam, sak, ldb, rows, chunks, offC, seq };
  };
  // This thread's part of a posted product: claim chunks from the bottom, then copy the helper's
  // finished chunks into C, waiting for the one it is on no longer than a chunk takes here
  // (chunkTime: measured, or estimated by the caller when it claimed none), else computing it here.
  const join = (job, helperOnly, chunkTime = 0) => {
    const { c, a, b, M, N, K, sam, sak, ldb, rows, chunks, offC, seq: s } = job;
    const words = ctl(), free = 2 * s, mine = 2 * s + 2;
    let i = chunks - 1;
    for (; i >= 0 && !helperOnly; i--) {
      if (Atomics.compareExchange(words, CLAIM + i, free, mine) !== free) break;
      const t = performance.now();
      here(c + 4 * i * rows * N, a + 4 * i * rows * sam, b, Math.min(rows, M - i * rows), N, K, sam, sak, ldb);
      chunkTime = performance.now() - t;
    }
    // chunks 0..i are the helper's (it claims upwards from 0)
    let helperRows = 0;
    for (let j = 0, since = performance.now(); j <= i; j++) {
      while (Atomics.load(words, DONE + j) !== s && (helperOnly || performance.now() - since < chunkTime));
      const m0 = j * rows, m = Math.min(rows, M - m0);
      if (Atomics.load(words, DONE + j) === s) {
        new Uint8Array(heapMemory.buffer).set(new Uint8Array(memory.buffer, offC + 4 * m0 * N, 4 * m * N), c + 4 * m0 * N);
        helperRows += m;
        since = performance.now();
      } else {
        here(c + 4 * m0 * N, a + 4 * m0 * sam, b, m, N, K, sam, sak, ldb);
      }
    }
    return helperRows;
  };
  const busy = () => Atomics.load(ctl(), BUSY) !== 0;  // still on a chunk of an earlier product
  // A product posted by pair(..., later = true) that this thread has not joined yet: joined
  // before anything else is posted, or when Python asks (settle).
  let pending = null;
  const settle = () => {
    if (pending === null) return;
    const { job, chunkTime } = pending;
    pending = null;
    join(job, false, chunkTime);
  };
  return {
    ready: () => Atomics.load(ctl(), READY) === 1,
    // C (M x N) = A B on Pyodide's heap (byte addresses; strides in floats, all >= 0). Returns
    // the number of rows the helper computed. helperOnly (for the tests): leave every chunk to it.
    gemm(c, a, b, M, N, K, sam, sak, ldb, helperOnly = false) {
      settle();
      if (busy() && !helperOnly) {
        here(c, a, b, M, N, K, sam, sak, ldb);
        return 0;
      }
      return join(post(c, a, b, M, N, K, sam, sak, ldb), helperOnly);
    },
    // Two independent products at once (a linear layer's dx and dW): the second is handed to the
    // helper, this thread computes the first, then claims what is left of the second. Returns the
    // rows of the second the helper computed. later: return after the first; the second is joined
    // by the next gemm, pair or settle (the helper goes on with it meanwhile), and C is written then.
    pair(c1, a1, b1, M1, N1, K1, sam1, sak1, ldb1, c, a, b, M, N, K, sam, sak, ldb, later = false) {
      settle();
      if (busy()) {
        here(c1, a1, b1, M1, N1, K1, sam1, sak1, ldb1);
        here(c, a, b, M, N, K, sam, sak, ldb);
        return 0;
      }
      const job = post(c, a, b, M, N, K, sam, sak, ldb);
      const t = performance.now();
      here(c1, a1, b1, M1, N1, K1, sam1, sak1, ldb1);
      const perChunk = ((performance.now() - t) * job.rows * N * K) / (M1 * N1 * K1);
      if (later) {
        pending = { job, chunkTime: perChunk };
        return 0;
      }
      return join(job, false, perChunk);
    },
    settle,
    close: () => worker.terminate(),
  };
}
