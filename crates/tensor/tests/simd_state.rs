//! After gradus calls into faer, the upper halves of the vector registers are
//! clean on the calling thread and on every rayon worker. Dirty upper state
//! made later SSE code (libm's tanhf) 2–3.5× slower; XINUSE (`xgetbv(1)`)
//! reports it directly, so this test needs no timing.

#![cfg(target_arch = "x86_64")]

use gradus_tensor::Tensor;

/// XINUSE bits of the upper YMM halves (AVX) and upper ZMM halves (AVX-512).
const DIRTY_UPPER: u64 = (1 << 2) | (1 << 6);

fn xinuse_supported() -> bool {
    // CPUID.(EAX=0DH, ECX=1):EAX bit 2 — XGETBV with ECX = 1.
    std::arch::is_x86_feature_detected!("xsave") && core::arch::x86_64::__cpuid_count(0xd, 1).eax & 4 != 0
}

#[target_feature(enable = "xsave")]
fn xinuse() -> u64 {
    // SAFETY: the caller checked XGETBV with ECX = 1 is supported.
    unsafe { core::arch::x86_64::_xgetbv(1) }
}

fn dirty_here() -> bool {
    // SAFETY: only called when `xinuse_supported()`.
    unsafe { xinuse() & DIRTY_UPPER != 0 }
}

#[test]
fn matmul_and_linalg_leave_vector_state_clean() {
    if !xinuse_supported() {
        eprintln!("XGETBV(1) not supported on this CPU: nothing to check");
        return;
    }
    let small = Tensor::<f32>::ones(&[64, 64]);
    let _ = small.matmul(&small);
    assert!(!dirty_here(), "sequential matmul left the upper vector state dirty");

    let big = Tensor::<f32>::ones(&[512, 512]);
    let _ = big.matmul(&big.t());
    assert!(!dirty_here(), "parallel matmul left the calling thread dirty");
    let dirty_workers: Vec<bool> = rayon::broadcast(|_| dirty_here());
    assert!(!dirty_workers.contains(&true), "parallel matmul left rayon workers dirty: {dirty_workers:?}");

    let spd = Tensor::<f64>::eye(32) * 2.0;
    let _ = spd.cholesky().unwrap();
    let _ = spd.eigh().unwrap();
    let _ = spd.solve(&Tensor::ones(&[32])).unwrap();
    assert!(!dirty_here(), "linalg left the upper vector state dirty");

    // The oracle sees dirt: faer called directly leaves it (if a faer
    // upgrade stops doing so, this fails and the workaround can go).
    let m = faer::Mat::<f32>::from_fn(64, 64, |i, j| (i + j) as f32);
    let mut out = faer::Mat::<f32>::zeros(64, 64);
    faer::linalg::matmul::matmul(out.as_mut(), faer::Accum::Replace, m.as_ref(), m.as_ref(), 1.0, faer::Par::Seq);
    assert!(dirty_here(), "faer no longer leaves the upper state dirty: simd_state.rs may be unneeded");
    gradus_tensor::clear_upper_simd_state();
    assert!(!dirty_here(), "clear_upper_simd_state did not clear it");
}
