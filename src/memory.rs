//! How the process holds its memory: freed memory handed back to the
//! operating system between the steps of a load, and 2 MB pages asked for
//! a table read at random.
//!
//! glibc keeps what polars frees in its heaps for reuse, and the pages stay
//! resident: after a file's raw text, or identifiers replaced by 64-bit
//! keys, gigabytes of free pages were still counted against the process
//! when the next step's working memory came on top (see
//! `docs/design/memory.md`).

/// Returns the allocator's free pages to the kernel; a no-op off glibc.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only gives back pages that hold no allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks the kernel to back `memory`, not touched yet, with 2 MB pages where
/// it can (these machines' kernels give them only to memory that asks): a
/// table read and written at random misses the processor's cache of address
/// translations (the TLB) on nearly every access with 4 KB pages. A hint:
/// pages already touched stay as they are; a no-op off Linux.
pub fn prefer_huge_pages<T>(memory: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let start = memory.as_ptr() as usize;
        let end = start + std::mem::size_of_val(memory);
        let first = start.next_multiple_of(HUGE_PAGE);
        let last = end - end % HUGE_PAGE;
        if last > first {
            // SAFETY: the range lies inside `memory`'s allocation, and the
            // advice changes how its pages are backed, not what they hold.
            unsafe {
                libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory;
}
