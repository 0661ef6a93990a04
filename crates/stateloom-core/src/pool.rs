//! Free lists of payload blocks, one per size class, so that creating a node after
//! disposals reuses the block of a freed payload instead of calling the allocator.
//!
//! A payload of at most [`MAX_BLOCK`] bytes, aligned to at most 16, lives in a block whose
//! size is rounded up to a multiple of 8, and to at least 16 (its class). Disposal gives a
//! block back here once the payload is dropped; the next payload of the same class takes it.
//! Larger or over-aligned payloads use the global allocator directly.
//!
//! Classes step by 8 bytes rather than 16: glibc's chunks hold 8 bytes less than a multiple
//! of 16, so rounding a 56-byte payload up to 64 would move it from a 64-byte chunk to an
//! 80-byte one.
//!
//! The lists are plain `Cell`s threaded through the free blocks themselves, so nothing is ever
//! borrowed: a payload's destructor (user code) may create or dispose nodes, and so take or
//! give back blocks, while another payload is being dropped.
#![allow(unsafe_code)] // Free blocks hold the list's links; see `BlockPool`'s invariants.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::cell::Cell;
use std::ptr::NonNull;

/// The largest payload, in bytes, whose block is kept for reuse.
pub(crate) const MAX_BLOCK: usize = 256;
/// The size step between classes.
const STEP: usize = 8;
/// The smallest block, and the alignment of every pooled block: the global allocator then
/// serves each block with a plain `malloc`, whose blocks are 16-aligned on 64-bit targets.
const MIN_BLOCK: usize = 16;
/// Number of size classes: blocks of 16, 24, 32, ..., [`MAX_BLOCK`] bytes.
const CLASSES: usize = (MAX_BLOCK - MIN_BLOCK) / STEP + 1;
/// The most bytes the lists hold in all.
pub(crate) const MAX_CACHED_BYTES: usize = 256 * 1024;
/// The most bytes one class holds, so that a burst of one size leaves room for the others.
pub(crate) const MAX_CLASS_BYTES: usize = MAX_CACHED_BYTES / 2;

/// The start of a free block: the next free block of the same class.
struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

/// Per-class free lists of payload blocks, with bounded total size.
///
/// # Invariants
/// - Every block on list `c` was allocated by the global allocator with
///   `class_layout(c)`, is owned by the list alone, and starts with a [`FreeBlock`]
///   naming the next block of the list.
/// - `counts[c]` is the length of list `c`, and `bytes` is the sum over classes of
///   `counts[c] * class_size(c)`; it never exceeds [`MAX_CACHED_BYTES`], nor a class's
///   share [`MAX_CLASS_BYTES`].
pub(crate) struct BlockPool {
    heads: [Cell<Option<NonNull<FreeBlock>>>; CLASSES],
    counts: [Cell<u32>; CLASSES],
    bytes: Cell<usize>,
}

/// The class of a payload layout, or `None` if its blocks are not pooled (empty, too large
/// or over-aligned). A compile-time constant for a known payload type.
#[inline(always)]
const fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() == 0 || layout.size() > MAX_BLOCK || layout.align() > MIN_BLOCK {
        None
    } else if layout.size() <= MIN_BLOCK {
        Some(0)
    } else {
        Some((layout.size() - MIN_BLOCK).div_ceil(STEP))
    }
}

/// The size of the blocks of class `class`.
#[inline(always)]
const fn class_size(class: usize) -> usize {
    MIN_BLOCK + class * STEP
}

/// The layout every block of class `class` is allocated with.
#[inline(always)]
const fn class_layout(class: usize) -> Layout {
    match Layout::from_size_align(class_size(class), MIN_BLOCK) {
        Ok(layout) => layout,
        Err(_) => panic!("a class layout is valid"),
    }
}

/// The layout the memory of a payload of `layout` is allocated with: its class's, or its own
/// when it is not pooled. Whoever allocated a payload's memory and whoever frees it derive
/// the same layout from the payload's type, so a block may go back to the global allocator
/// instead of a list (when the list is full, or the runtime is gone).
#[inline(always)]
pub(crate) const fn block_layout(layout: Layout) -> Layout {
    match class_of(layout) {
        Some(class) => class_layout(class),
        None => layout,
    }
}

impl BlockPool {
    /// Empty lists.
    pub(crate) const fn new() -> Self {
        Self {
            heads: [const { Cell::new(None) }; CLASSES],
            counts: [const { Cell::new(0) }; CLASSES],
            bytes: Cell::new(0),
        }
    }

    /// Memory for a payload of `layout` (not zero-sized): a block from its class's list if it
    /// has one, else fresh memory of [`block_layout`]`(layout)` from the global allocator.
    #[inline]
    pub(crate) fn take(&self, layout: Layout) -> NonNull<u8> {
        debug_assert!(layout.size() != 0, "zero-sized payloads need no block");
        if let Some(class) = class_of(layout)
            && let Some(block) = self.heads[class].get()
        {
            // SAFETY: by the invariants, a block on the list is owned by it and starts with a
            // `FreeBlock`; reading its link and unlinking it gives the block to the caller.
            let next = unsafe { block.as_ref().next };
            self.heads[class].set(next);
            self.counts[class].set(self.counts[class].get() - 1);
            self.bytes.set(self.bytes.get() - class_size(class));
            return block.cast();
        }
        let layout = block_layout(layout);
        // SAFETY: `layout` is not zero-sized (asserted above; a class is at least 16 bytes).
        let ptr = unsafe { alloc(layout) };
        NonNull::new(ptr).unwrap_or_else(|| handle_alloc_error(layout))
    }

    /// Takes back the memory of a dropped payload of `layout`: keeps it on its class's list,
    /// or frees it if the block is not pooled or the list is full.
    ///
    /// # Safety
    /// `block` came from [`take`](Self::take) (of this or any pool, or the global allocator
    /// with [`block_layout`]`(layout)`) for a payload of `layout`, the payload was dropped,
    /// and nothing uses the memory any more.
    #[inline]
    pub(crate) unsafe fn give_back(&self, block: NonNull<u8>, layout: Layout) {
        if let Some(class) = class_of(layout) {
            let size = class_size(class);
            let count = self.counts[class].get() as usize;
            if self.bytes.get() + size <= MAX_CACHED_BYTES && (count + 1) * size <= MAX_CLASS_BYTES
            {
                let free = block.cast::<FreeBlock>();
                // SAFETY: the block is at least 16 bytes and aligned to 16 (its class layout),
                // and the caller gave up every use of it, so it can hold a `FreeBlock`; the
                // list now owns it, as the invariants require.
                unsafe {
                    free.write(FreeBlock {
                        next: self.heads[class].get(),
                    });
                }
                self.heads[class].set(Some(free));
                self.counts[class].set(self.counts[class].get() + 1);
                self.bytes.set(self.bytes.get() + size);
                return;
            }
        }
        // SAFETY: by the caller's contract the memory was allocated with
        // `block_layout(layout)` and is no longer used.
        unsafe { free_block(block, layout) };
    }

    /// Bytes of blocks on the lists.
    pub(crate) fn cached_bytes(&self) -> usize {
        self.bytes.get()
    }

    /// Blocks on the lists.
    pub(crate) fn cached_blocks(&self) -> usize {
        self.counts.iter().map(|c| c.get() as usize).sum()
    }

    /// Frees blocks until at most `keep` remain, each class keeping its share of them: a
    /// graph built again after a disposal is likely to have the mix of sizes of the one that
    /// was disposed.
    pub(crate) fn trim(&self, keep: usize) {
        let blocks = self.cached_blocks();
        if blocks <= keep {
            return;
        }
        for class in 0..CLASSES {
            let count = self.counts[class].get() as usize;
            // Rounded down, so the shares add up to at most `keep`.
            let share = count * keep / blocks;
            for _ in share..count {
                let Some(block) = self.heads[class].get() else {
                    unreachable!("a list holds as many blocks as its count");
                };
                // SAFETY: as in `take`: the list owns the block and it starts with a
                // `FreeBlock`.
                let next = unsafe { block.as_ref().next };
                self.heads[class].set(next);
                self.counts[class].set(self.counts[class].get() - 1);
                self.bytes.set(self.bytes.get() - class_size(class));
                // SAFETY: the block was allocated with its class's layout (the invariants)
                // and was just unlinked, so nothing else refers to it.
                unsafe { dealloc(block.as_ptr().cast(), class_layout(class)) };
            }
        }
    }
}

/// Frees the memory of a dropped payload of `layout` to the global allocator.
///
/// # Safety
/// As [`BlockPool::give_back`].
pub(crate) unsafe fn free_block(block: NonNull<u8>, layout: Layout) {
    // SAFETY: by the caller's contract the memory was allocated with `block_layout(layout)`
    // and is no longer used.
    unsafe { dealloc(block.as_ptr(), block_layout(layout)) };
}

impl Drop for BlockPool {
    fn drop(&mut self) {
        self.trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_step_by_eight_from_sixteen_and_stop_at_the_largest_block() {
        let of = |size, align| class_of(Layout::from_size_align(size, align).unwrap());
        assert_eq!(of(0, 1), None);
        assert_eq!(of(1, 1), Some(0));
        assert_eq!(of(16, 8), Some(0));
        assert_eq!(of(17, 1), Some(1));
        assert_eq!(of(24, 8), Some(1));
        assert_eq!(of(256, 16), Some(CLASSES - 1));
        assert_eq!(class_size(CLASSES - 1), MAX_BLOCK);
        assert_eq!(of(257, 8), None);
        assert_eq!(of(32, 32), None, "over-aligned");
        let layout = Layout::from_size_align(21, 4).unwrap();
        assert_eq!(
            block_layout(layout),
            Layout::from_size_align(24, 16).unwrap()
        );
        let big = Layout::from_size_align(300, 8).unwrap();
        assert_eq!(block_layout(big), big);
    }

    #[test]
    fn a_given_back_block_is_taken_again_by_its_class_only() {
        let pool = BlockPool::new();
        let small = Layout::new::<[u64; 2]>();
        let other = Layout::new::<[u64; 4]>();
        let a = pool.take(small);
        // SAFETY: `a` came from `take(small)` and holds no payload.
        unsafe { pool.give_back(a, small) };
        assert_eq!((pool.cached_blocks(), pool.cached_bytes()), (1, 16));
        let b = pool.take(other);
        assert_ne!(a, b, "another class does not take the block");
        assert_eq!(pool.take(small), a, "the same class does");
        assert_eq!(pool.cached_blocks(), 0);
        // SAFETY: both came from `take` with these layouts.
        unsafe {
            pool.give_back(a, small);
            pool.give_back(b, other);
        }
        assert_eq!((pool.cached_blocks(), pool.cached_bytes()), (2, 48));
        pool.trim(0);
        assert_eq!((pool.cached_blocks(), pool.cached_bytes()), (0, 0));
    }

    #[test]
    fn trimming_keeps_each_class_in_proportion() {
        let pool = BlockPool::new();
        let small = Layout::new::<[u64; 2]>();
        let large = Layout::new::<[u64; 8]>();
        let blocks: Vec<_> = (0..30)
            .map(|i| if i < 20 { small } else { large })
            .map(|layout| (pool.take(layout), layout))
            .collect();
        for (block, layout) in blocks {
            // SAFETY: every block came from `take(layout)`.
            unsafe { pool.give_back(block, layout) };
        }
        pool.trim(15);
        assert_eq!(pool.cached_blocks(), 15);
        assert_eq!(
            pool.cached_bytes(),
            10 * 16 + 5 * 64,
            "two thirds small, one third large"
        );
        pool.trim(20);
        assert_eq!(pool.cached_blocks(), 15, "trimming never adds");
    }

    #[test]
    fn the_lists_stop_growing_at_their_caps() {
        let pool = BlockPool::new();
        let layout = Layout::new::<[u8; 256]>();
        let blocks: Vec<_> = (0..MAX_CLASS_BYTES / 256 + 3)
            .map(|_| pool.take(layout))
            .collect();
        for block in blocks {
            // SAFETY: every block came from `take(layout)`.
            unsafe { pool.give_back(block, layout) };
        }
        assert_eq!(pool.cached_bytes(), MAX_CLASS_BYTES, "one class's cap");
        let small = Layout::new::<[u8; 16]>();
        let blocks: Vec<_> = (0..MAX_CACHED_BYTES / 16)
            .map(|_| pool.take(small))
            .collect();
        for block in blocks {
            // SAFETY: as above.
            unsafe { pool.give_back(block, small) };
        }
        assert_eq!(pool.cached_bytes(), MAX_CACHED_BYTES, "the total cap");
    }
}
