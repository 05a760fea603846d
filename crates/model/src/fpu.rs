//! Subnormal floats flushed to zero for the model's arithmetic.
//!
//! Attention probabilities of far-off keys, LoRA gradients and the
//! optimizer's small updates fall below f32's normal range (1.2e-38).
//! Intel cores take a microcode assist for every such operand of a
//! multiply or FMA: on the twenty-ninth session's Xeon the SFT step spent
//! 77 % of its time in gemm's AVX-512 kernel and took 10.9 s, against 3.0 s
//! with subnormals flushed (AMD cores handle them in hardware). TensorFlow
//! flushes them in its compute threads for the same reason. Added to any
//! term above 1e-31, a value that small changes no f32 sum.

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
