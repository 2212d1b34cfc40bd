//! A ring of provided buffers (`IORING_REGISTER_PBUF_RING`, Linux 5.19) for multishot receives:
//! the kernel picks a buffer for each receive completion; the ring thread hands it back by writing
//! one 16-byte entry and moving the tail, with no submission and no system call (the legacy
//! `IORING_OP_PROVIDE_BUFFERS` costs a submission queue entry and a trip through the kernel per
//! buffer).
//!
//! The ring memory is shared with the kernel: entries are `struct io_uring_buf { u64 addr; u32 len;
//! u16 bid; u16 resv; }`, and the tail the kernel reads is the `resv` field of entry 0.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::IoUring;

/// Size of one `struct io_uring_buf`.
const ENTRY: usize = 16;
/// Offset of the shared tail in the ring (the `resv` field of entry 0).
const TAIL: usize = 14;

/// A registered buffer ring and the buffers it hands out.
pub struct BufRing {
    ring: *mut u8,
    layout: Layout,
    mask: u16,
    tail: u16,
    published: u16,
    bufs: Vec<u8>,
    size: usize,
}

impl BufRing {
    /// `count` buffers (a power of two, at most 32768) of `size` bytes each, registered with `uring`
    /// as buffer group `bgid`, all of them given to the kernel.
    pub fn register(uring: &IoUring, bgid: u16, count: u16, size: usize) -> std::io::Result<BufRing> {
        if !count.is_power_of_two() || count > 1 << 15 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "buffer ring size"));
        }
        let layout = Layout::from_size_align(usize::from(count) * ENTRY, 4096)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "buffer ring layout"))?;
        // SAFETY: the layout has a non-zero size (count >= 1)
        let ring = unsafe { alloc_zeroed(layout) };
        if ring.is_null() {
            return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
        }
        let mut me = BufRing {
            ring,
            layout,
            mask: count - 1,
            tail: 0,
            published: 0,
            bufs: vec![0; usize::from(count) * size],
            size,
        };
        // SAFETY: the ring memory lives as long as `me`, which the ring thread drops only after the
        // io_uring instance (declared before it in `Ring`, so dropped first)
        unsafe { uring.submitter().register_buf_ring_with_flags(ring as u64, count, bgid, 0)? };
        for bid in 0..count {
            me.give_back(bid);
        }
        me.publish();
        Ok(me)
    }

    /// The bytes the kernel received into buffer `bid`.
    pub fn data(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid & self.mask) * self.size;
        &self.bufs[start..start + len.min(self.size)]
    }

    /// Hands buffer `bid` back to the kernel (seen once [`BufRing::publish`] runs).
    pub fn give_back(&mut self, bid: u16) {
        let bid = bid & self.mask;
        let addr = self.bufs[usize::from(bid) * self.size..].as_mut_ptr() as u64;
        let at = usize::from(self.tail & self.mask) * ENTRY;
        let mut entry = [0u8; TAIL];
        entry[..8].copy_from_slice(&addr.to_ne_bytes());
        entry[8..12].copy_from_slice(&(self.size as u32).to_ne_bytes());
        entry[12..14].copy_from_slice(&bid.to_ne_bytes());
        // SAFETY: `at + 14 <= count * 16`, inside the allocation; the kernel reads an entry only
        // once the tail passes it, and bytes 14..16 of entry 0 (the tail) are left alone here
        unsafe { std::ptr::copy_nonoverlapping(entry.as_ptr(), self.ring.add(at), TAIL) };
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the buffers given back so far visible to the kernel.
    pub fn publish(&mut self) {
        if self.published == self.tail {
            return;
        }
        // SAFETY: offset 14 is inside the allocation and 2-aligned (the allocation is 4096-aligned);
        // the kernel reads the tail with an acquire load, paired with this release store
        let tail = unsafe { &*(self.ring.add(TAIL) as *const AtomicU16) };
        tail.store(self.tail, Ordering::Release);
        self.published = self.tail;
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `register` with this layout
        unsafe { dealloc(self.ring, self.layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::{cqueue, opcode, types};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// Receives `wanted` completions of a multishot receive on `fd`: (buffer id, bytes, more).
    fn receive(uring: &mut IoUring, fd: i32, wanted: usize) -> Vec<(Option<u16>, i32, bool)> {
        let e = opcode::RecvMulti::new(types::Fd(fd), 1).build().user_data(1);
        // SAFETY: the entry refers to no memory of ours (the buffers are the ring's)
        unsafe { uring.submission().push(&e) }.expect("queue has room");
        let mut got = Vec::new();
        while got.len() < wanted {
            uring.submit_and_wait(1).expect("io_uring_enter");
            got.extend(
                uring.completion().map(|c| (cqueue::buffer_select(c.flags()), c.result(), cqueue::more(c.flags()))),
            );
        }
        got
    }

    #[test]
    fn buffers_given_back_are_used_again_and_running_out_ends_the_receive() {
        let Ok(mut uring) = IoUring::new(8) else { return }; // no io_uring here: nothing to check
        let Ok(mut bufs) = BufRing::register(&uring, 1, 2, 16) else { return };
        let (mut a, b) = UnixStream::pair().expect("socket pair");
        a.write_all(b"first").expect("write");
        let got = receive(&mut uring, b.as_raw_fd(), 1);
        let (Some(bid), 5, true) = got[0] else { panic!("{got:?}") };
        assert_eq!(bufs.data(bid, 5), b"first");
        // the second buffer, then none left: the receive ends with ENOBUFS
        a.write_all(b"second").expect("write");
        std::thread::sleep(std::time::Duration::from_millis(20));
        a.write_all(b"third").expect("write");
        let mut got = Vec::new();
        while !got.iter().any(|(_, _, more)| !more) {
            uring.submit_and_wait(1).expect("io_uring_enter");
            got.extend(
                uring.completion().map(|c| (cqueue::buffer_select(c.flags()), c.result(), cqueue::more(c.flags()))),
            );
        }
        assert_eq!(got.last().map(|g| g.1), Some(-libc::ENOBUFS), "{got:?}");
        let (Some(second), 6, _) = got[0] else { panic!("{got:?}") };
        assert_eq!(bufs.data(second, 6), b"second");
        // both given back: the next receive reads what waited
        bufs.give_back(bid);
        bufs.give_back(second);
        bufs.publish();
        let got = receive(&mut uring, b.as_raw_fd(), 1);
        let (Some(again), 5, _) = got[0] else { panic!("{got:?}") };
        assert_eq!(bufs.data(again, 5), b"third");
    }

    #[test]
    fn a_ring_size_that_is_not_a_power_of_two_is_refused() {
        let Ok(uring) = IoUring::new(8) else { return };
        assert!(BufRing::register(&uring, 1, 3, 16).is_err());
    }
}
