//! The memory a word table's slot array lives in: the heap, or a region of
//! a shared-memory file (a Linux memfd). A `processes`-mode worker grows
//! its table inside a memfd its parent created; at the end the parent maps
//! the worker's last region and uses the table as it is, instead of
//! receiving megabytes through a pipe and faulting in fresh pages for them.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

/// Plain data: any bit pattern is a valid value and there is no padding,
/// so a slice of it may be viewed as bytes and filled from bytes.
///
/// # Safety
/// Implement only for `Copy` types without padding bytes, for which every
/// bit pattern is a valid value.
pub(super) unsafe trait Plain: Copy {}

/// A fixed-length array of `T` on the heap or in a shared-memory region.
/// Indexing costs the same either way (a pointer and a length).
pub(super) struct SlotArray<T: Plain> {
    ptr: NonNull<T>,
    len: usize,
    /// `Some` when the array is a mapped memfd region.
    region: Option<Region>,
}

/// Where a mapped array lives in its memfd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Region {
    /// Offset in the file, a multiple of the page size.
    pub offset: u64,
    /// Length of the mapping, a multiple of the page size.
    pub bytes: usize,
}

// SAFETY: a `SlotArray` owns its memory exclusively (like a `Box<[T]>`).
unsafe impl<T: Plain + Send> Send for SlotArray<T> {}
// SAFETY: shared access only reads, as for a `Box<[T]>`.
unsafe impl<T: Plain + Sync> Sync for SlotArray<T> {}

impl<T: Plain> SlotArray<T> {
    /// `len` copies of `value` on the heap.
    pub(crate) fn filled(value: T, len: usize) -> Self {
        Self::from_vec(vec![value; len])
    }

    /// Takes over a vector's elements.
    pub(crate) fn from_vec(values: Vec<T>) -> Self {
        let boxed: Box<[T]> = values.into_boxed_slice();
        let len = boxed.len();
        let ptr = NonNull::new(Box::into_raw(boxed).cast::<T>()).unwrap_or(NonNull::dangling());
        SlotArray {
            ptr,
            len,
            region: None,
        }
    }

    /// The memfd region behind the array, if it is mapped.
    pub(crate) fn region(&self) -> Option<Region> {
        self.region
    }

    /// Maps `len` elements at `offset` of the memfd `file` (read-write,
    /// shared), as written there by a [`SharedFile`] in another process.
    /// Fails with `InvalidData` when the region is not inside the file.
    pub(crate) fn map(file: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<Self> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let page = page_size() as u64;
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b > 0)
            .ok_or_else(|| invalid("bad shared table length"))?;
        if !offset.is_multiple_of(page) {
            return Err(invalid("shared table region not page aligned"));
        }
        let mapped = round_up(bytes, page as usize);
        // A mapping past the end of the file would fault (SIGBUS) on access.
        let file_len = file_size(file)?;
        if offset
            .checked_add(mapped as u64)
            .is_none_or(|end| end > file_len)
        {
            return Err(invalid("shared table region outside its file"));
        }
        // Not populated: the first reads fault in 16 pages at a time.
        let ptr = map_shared(file, offset, mapped, false)?;
        Ok(SlotArray {
            ptr: ptr.cast(),
            len,
            region: Some(Region {
                offset,
                bytes: mapped,
            }),
        })
    }
}

impl<T: Plain> std::ops::Deref for SlotArray<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` points to `len` initialized values owned by `self`
        // (a leaked box or a mapping of at least `len * size_of::<T>()` bytes).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Plain> std::ops::DerefMut for SlotArray<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Plain> Drop for SlotArray<T> {
    fn drop(&mut self) {
        match self.region {
            Some(region) => {
                // SAFETY: `ptr` and `region.bytes` are exactly what mmap returned.
                unsafe { libc::munmap(self.ptr.as_ptr().cast(), region.bytes) };
            }
            None => {
                let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
                // SAFETY: `ptr`/`len` came from `Box::into_raw` in `from_vec`
                // (a zero-length box is dangling and freeing it is a no-op).
                drop(unsafe { Box::from_raw(slice) });
            }
        }
    }
}

impl<T: Plain> Clone for SlotArray<T> {
    /// A heap copy, whatever the original lives in.
    fn clone(&self) -> Self {
        Self::from_vec(self.to_vec())
    }
}

impl<T: Plain> fmt::Debug for SlotArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotArray")
            .field("len", &self.len)
            .field("region", &self.region)
            .finish()
    }
}

/// A memfd that slot arrays are carved from, one region after the other
/// (each table resize takes a new region at the end of the file and
/// punches out the old one, so memory is returned as usual).
#[derive(Debug)]
pub struct SharedFile {
    fd: OwnedFd,
    end: u64,
}

impl SharedFile {
    /// A new, empty memfd that is closed on exec (pass it on explicitly).
    pub(crate) fn create() -> io::Result<OwnedFd> {
        let name = c"harness-word-table";
        // SAFETY: a valid C string and flags; the result is checked.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by memfd_create and is ours.
        Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    }

    /// Allocates from `fd`, which must be an (empty) memfd or other
    /// shared-memory file.
    pub(crate) fn new(fd: OwnedFd) -> SharedFile {
        SharedFile { fd, end: 0 }
    }

    /// A new region holding `len` copies of `value`.
    pub(super) fn filled<T: Plain>(&mut self, value: T, len: usize) -> io::Result<SlotArray<T>> {
        let page = page_size();
        let bytes = round_up(len.max(1) * size_of::<T>(), page);
        let offset = self.end;
        let end = offset + bytes as u64;
        let new_len = libc::off_t::try_from(end)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "shared table too large"))?;
        // SAFETY: ftruncate on our own descriptor; the result is checked.
        if unsafe { libc::ftruncate(self.fd.as_raw_fd(), new_len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Populated: every page is about to be written anyway.
        let ptr = map_shared(self.fd_ref(), offset, bytes, true)?;
        self.end = end;
        let mut array = SlotArray {
            ptr: ptr.cast(),
            len,
            region: Some(Region { offset, bytes }),
        };
        array.fill(value);
        Ok(array)
    }

    /// Gives the memory of `array` (a region of this file) back to the
    /// system; the array is unmapped.
    pub(super) fn release<T: Plain>(&self, array: SlotArray<T>) {
        let Some(region) = array.region() else {
            return;
        };
        drop(array);
        if let (Ok(offset), Ok(bytes)) = (
            libc::off_t::try_from(region.offset),
            libc::off_t::try_from(region.bytes),
        ) {
            // SAFETY: punching a hole in our own file; failure only keeps memory.
            unsafe {
                libc::fallocate(
                    self.fd.as_raw_fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    offset,
                    bytes,
                );
            }
        }
    }

    fn fd_ref(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }
}

/// The bytes of `values`.
pub(super) fn bytes_of<T: Plain>(values: &[T]) -> &[u8] {
    // SAFETY: `T: Plain` has no padding, so every byte is initialized.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), size_of_val(values)) }
}

/// The bytes of `values`, writable.
pub(super) fn bytes_of_mut<T: Plain>(values: &mut [T]) -> &mut [u8] {
    let bytes = size_of_val(values);
    // SAFETY: `T: Plain`: no padding, and any bytes written form valid values.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), bytes) }
}

/// Maps `bytes` at `offset` of `file`, shared and writable; `populate`
/// sets up every page now, in one go, instead of one fault per page later.
fn map_shared(
    file: BorrowedFd<'_>,
    offset: u64,
    bytes: usize,
    populate: bool,
) -> io::Result<NonNull<u8>> {
    let offset = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad shared table offset"))?;
    // SAFETY: a fresh shared mapping of a file we hold open; the result is
    // checked, and the region lies inside the file (callers check or grow it).
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            if populate {
                libc::MAP_SHARED | libc::MAP_POPULATE
            } else {
                libc::MAP_SHARED
            },
            file.as_raw_fd(),
            offset,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

fn file_size(file: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: fstat into a zeroed struct on a descriptor we borrow.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(file.as_raw_fd(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    u64::try_from(stat.st_size).map_err(|_| io::Error::other("negative file size"))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

fn round_up(value: usize, to: usize) -> usize {
    value.div_ceil(to) * to
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    // SAFETY: u64 is plain data.
    unsafe impl Plain for u64 {}

    #[test]
    fn a_region_written_in_one_mapping_is_seen_in_another() {
        let fd = SharedFile::create().unwrap();
        let reader = fd.try_clone().unwrap();
        let mut file = SharedFile::new(fd);
        let small = file.filled(7u64, 10).unwrap();
        let mut big = file.filled(0u64, 100_000).unwrap();
        big[99_999] = 42;
        big[0] = 1;
        let region = big.region().unwrap();
        assert_eq!(region.offset % page_size() as u64, 0);
        file.release(small);
        let seen = SlotArray::<u64>::map(reader.as_fd(), region.offset, 100_000).unwrap();
        assert_eq!((seen[0], seen[1], seen[99_999]), (1, 0, 42));
        assert_eq!(seen.clone().to_vec(), big.to_vec());
    }

    #[test]
    fn regions_outside_the_file_are_refused() {
        let fd = SharedFile::create().unwrap();
        let reader = fd.try_clone().unwrap();
        let mut file = SharedFile::new(fd);
        let _array = file.filled(0u64, 10).unwrap();
        for (offset, len) in [(0, 1 << 20), (4096 * 8, 1), (1, 1), (0, 0)] {
            let err = SlotArray::<u64>::map(reader.as_fd(), offset, len).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{offset} {len}");
        }
    }

    #[test]
    fn heap_arrays_index_and_clone() {
        let mut array = SlotArray::filled(3u64, 5);
        array[4] = 9;
        assert_eq!(array.to_vec(), vec![3, 3, 3, 3, 9]);
        assert_eq!(array.region(), None);
        assert_eq!(bytes_of(&array).len(), 40);
        let empty = SlotArray::<u64>::from_vec(Vec::new());
        assert!(empty.is_empty());
    }
}
