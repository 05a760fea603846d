//! Subnormal floats flushed to zero for the model's arithmetic.
//!
//! Intel cores take a microcode assist for subnormal operands of a
//! multiply or FMA (the twenty-eighth session's AMD Zen 4 showed no such
//! slowdown). On the twenty-ninth session's Xeon the SFT step took
//! 10.5-11.1 s instead of ~3 s, 77 % of it in gemm's AVX-512 kernel,
//! because the softmax's vectorised exp gave masked scores a subnormal
//! probability (fixed in `attention/decode`); flushing alone brought it
//! back to 2.9-3.2 s. With that fixed, flushing measured no difference
//! there. It stays as a guard against other sources (small LoRA
//! gradients, the optimizer's moments): TensorFlow flushes subnormals in
//! its compute threads for the same reason. Added to any term above
//! 1e-31, a value that small changes no f32 sum.

/// MXCSR's flush-to-zero bit (results) and denormals-are-zero bit (inputs).
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

/// Flushes subnormal results and operands to zero on the calling thread
/// and on every thread it starts from now on (a new thread inherits its
/// parent's floating-point control register), so it belongs at the top of
/// `main`, before any thread pool exists. Returns whether this CPU has the
/// control (x86-64 only; elsewhere nothing changes).
pub fn flush_denormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write this thread's SSE control
        // register through a pointer to a live local; FTZ and DAZ change
        // only how subnormal values round, never memory.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
            csr |= FTZ_DAZ;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags));
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use std::hint::black_box;

    fn subnormal_product() -> f32 {
        black_box(1e-30f32) * black_box(1e-10f32)
    }

    #[test]
    fn subnormals_flush_here_and_in_threads_started_after() {
        // A thread of its own: the control register is per thread, and
        // the test harness's threads must keep theirs.
        std::thread::spawn(|| {
            assert!(subnormal_product() > 0.0, "1e-40 is a subnormal f32");
            assert!(super::flush_denormals());
            assert_eq!(subnormal_product(), 0.0);
            assert_eq!(black_box(f32::from_bits(1)) * black_box(1.0f32), 0.0);
            let child = std::thread::spawn(subnormal_product).join().unwrap();
            assert_eq!(child, 0.0, "a thread started afterwards inherits the flush");
            assert_eq!(black_box(1e-20f32) * black_box(1e-10f32), 1e-30f32);
        })
        .join()
        .unwrap();
    }
}
