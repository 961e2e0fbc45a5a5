//! Transparent huge pages for large buffers.
//!
//! A sweep over a buffer of tens of megabytes (an optimiser's state, a large
//! weight) crosses a 4 KiB page every 1024 `f32`s: each crossing is a TLB
//! miss, and the hardware prefetchers stop at the page's edge. Linux backs
//! memory with 2 MiB pages where a program asks for them with
//! `madvise(MADV_HUGEPAGE)` when `/sys/kernel/mm/transparent_hugepage/enabled`
//! is `madvise` (as on this project's machines; with `always` large mappings
//! get them unasked, with `never` not at all). glibc does not
//! ask unless `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` is set, and PyTorch only
//! with `THP_MEM_ALLOC_ENABLE=1`; gradus asks for its own large buffers
//! before their first touch, so the first fault maps a whole 2 MiB page.

/// Buffers of at least this many bytes are advised to use huge pages: from
/// two 2 MiB pages up, a buffer's aligned interior holds at least one whole
/// huge page, and all of the buffer but less than 4 MiB. Below it the TLB
/// reach of 4 KiB pages suffices.
pub const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// The size of a transparent huge page on x86-64 and aarch64 Linux.
const HUGE_PAGE: usize = 2 << 20;

/// Asks the kernel to back the whole 2 MiB pages inside `buf`'s capacity
/// with huge pages, if the capacity is at least [`HUGE_PAGE_MIN_BYTES`].
///
/// Call it before the buffer is first written: pages already touched keep
/// their 4 KiB mapping until the kernel's background thread merges them.
/// It is a hint: where the kernel has transparent huge pages turned off, on
/// other systems, or if the call fails, memory behaves as before and the
/// values are the same either way.
pub fn advise_huge_pages<T>(buf: &mut Vec<T>) {
    let bytes = buf.capacity() * size_of::<T>();
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let start = buf.as_mut_ptr() as usize;
        let first = start.next_multiple_of(HUGE_PAGE);
        let end = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
        if end > first {
            // SAFETY: [first, end) lies inside the vector's allocation, which
            // this call borrows exclusively; MADV_HUGEPAGE changes how the
            // range is backed, never its contents or its mapping's validity.
            // A failure (EINVAL without THP support) leaves memory as it was,
            // which is why the result is not checked.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// A vector of `len` copies of `value`, advised to use huge pages when it
/// is large (see [`advise_huge_pages`]): `vec![value; len]` for state that a
/// sweep reads and writes every step, such as an optimiser's moment
/// estimates.
///
/// ```
/// let v = gradus_tensor::filled_vec(3, 0.5f32);
/// assert_eq!(v, vec![0.5; 3]);
/// ```
pub fn filled_vec<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v = advised_vec(len);
    v.resize(len, value);
    v
}

/// An empty vector with room for `capacity` elements, advised to use huge
/// pages when it is large (see [`advise_huge_pages`]); fill it with `extend`.
///
/// ```
/// let mut v = gradus_tensor::advised_vec(4);
/// v.extend_from_slice(&[1.0f64, 2.0]);
/// assert_eq!((v.len(), v.capacity() >= 4), (2, true));
/// ```
pub fn advised_vec<T>(capacity: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(capacity);
    advise_huge_pages(&mut v);
    v
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `VmFlags` of the mapping that holds `addr`, from /proc/self/smaps.
    fn vm_flags_at(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((lo, hi)) = range.split_once('-')
                && let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = lo <= addr && addr < hi;
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return Some(flags.trim().to_string());
            }
        }
        None
    }

    /// Whether this kernel was built with transparent huge pages.
    fn kernel_has_thp() -> bool {
        std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists()
    }

    /// The first whole 2 MiB page inside `v`.
    fn interior<T>(v: &[T]) -> usize {
        (v.as_ptr() as usize).next_multiple_of(HUGE_PAGE)
    }

    #[test]
    fn large_buffers_are_advised_and_hold_their_values() {
        if !kernel_has_thp() {
            eprintln!("skipped: this kernel has no transparent huge pages");
            return;
        }
        // An odd size, so that no other test's buffer comes back from the pool.
        let len = HUGE_PAGE_MIN_BYTES / size_of::<f32>() + 12_345;
        let v = filled_vec(len, 0.25f32);
        assert_eq!(v.len(), len);
        assert!(v.iter().all(|&x| x == 0.25));
        let flags = vm_flags_at(interior(&v)).expect("the vector's mapping is in smaps");
        assert!(flags.split(' ').any(|f| f == "hg"), "no MADV_HUGEPAGE on a {len}-element buffer: {flags}");
        // The pool's fresh buffers are advised too.
        let t = crate::Tensor::<f32>::zeros(&[len]);
        let data = t.as_slice().expect("contiguous");
        let flags = vm_flags_at(interior(data)).expect("the tensor's mapping is in smaps");
        assert!(flags.split(' ').any(|f| f == "hg"), "no MADV_HUGEPAGE on a pooled tensor: {flags}");
    }

    #[test]
    fn small_and_empty_buffers_are_left_alone() {
        let mut empty: Vec<f64> = Vec::new();
        advise_huge_pages(&mut empty);
        assert!(empty.is_empty());
        let mut units = vec![(); 10];
        advise_huge_pages(&mut units);
        assert_eq!(units.len(), 10);
        assert_eq!(filled_vec(3, 7u8), vec![7u8; 3]);
        assert_eq!(filled_vec(0, 1.0f32), Vec::<f32>::new());
    }
}
