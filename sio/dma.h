#pragma once
/// @file dma.h
/// @brief DMA-able memory (Drepper, sections 3 and 6): dma_alloc, dma_free, dma_assoc,
/// dma_disassoc, sio_reserve, sio_release.
///
/// A program allocates memory the network can use directly (dma_alloc), associates it with
/// sockets (dma_assoc), and from then on the memory is shared with the implementation:
/// - for **receiving**, the implementation chooses the buffer: part of the associated memory is
///   handed to the kernel as receive buffers (io_uring provided buffers), sio_recv returns a
///   pointer into it, and sio_release gives the buffer back;
/// - for **sending**, the program takes a piece with sio_reserve, writes its data there, and
///   passes it to sio_send (or sends a buffer sio_recv returned, as an echo server does). The
///   memory is registered with the kernel (io_uring registered buffers), so large sends go out
///   without a copy (IORING_OP_SEND_ZC).
///
/// Memory is handed out in units (the minimum allocation size, 2 KiB unless dma_alloc's flags
/// say otherwise): one receive buffer is one unit; a reservation is rounded up to whole units.
/// A bitmap allocator keeps track (nexnet::SioAllocator), so every misuse is refused with a clear
/// errno (and a message, sio_last_error()) rather than corrupting anything:
/// - a pointer outside the memory, or to memory not in use: EINVAL;
/// - a second release of the same buffer: EINVAL;
/// - a release of a buffer the kernel owns (posted for receiving): EBUSY;
/// - a send from memory not associated with the socket (never, or no longer after
///   dma_disassoc): EINVAL.
///
/// Releasing a buffer the kernel is still sending from without a copy is allowed: the release
/// takes effect when the kernel's notification says it is done with it.
///
/// Corrections to the paper: sio_reserve's second parameter is `void **memp` (the paper's
/// `void **memp off` has a stray word); dma_disassoc's unnamed handle parameter is named `mem`.
/// The paper leaves the `size` arguments of dma_free, dma_assoc and dma_disassoc open: here
/// they must repeat the size given to dma_alloc (EINVAL otherwise), a check that the caller
/// names the memory it means, as munmap's length is.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A block of DMA-able memory (opaque; 0 is never valid). A stale handle (after dma_free) is
/// refused with EBADF.
typedef struct dma_memory* dma_mem_t;

/// dma_alloc flags. The low four bits choose the unit (minimum allocation size and receive
/// buffer size): 2 KiB << value.
enum {
    DMA_UNIT_2K = 0,   ///< 2 KiB units (the default): a full Ethernet datagram per buffer
    DMA_UNIT_4K = 1,   ///< 4 KiB units
    DMA_UNIT_8K = 2,   ///< 8 KiB units
    DMA_UNIT_16K = 3,  ///< 16 KiB units
    DMA_UNIT_32K = 4,  ///< 32 KiB units
    DMA_UNIT_64K = 5,  ///< 64 KiB units: a full-size UDP datagram, or large stream reads
    DMA_UNIT_MASK = 0xf,
    /// Fail with ENOMEM unless the memory is backed by hugepages.
    DMA_HUGEPAGES = 0x100,
    /// Do not use hugepages even when some are free.
    DMA_NOHUGEPAGES = 0x200,
    /// Fail (with mlock's errno) unless the memory can be locked in RAM. Without this flag the
    /// memory is locked when the process may lock that much, and dma_getinfo says whether it was.
    DMA_LOCKED = 0x400
};

/// dma_assoc flags.
enum {
    /// Only send from this memory: no part of it becomes receive buffers.
    DMA_ASSOC_SEND = 1
};

/// What dma_getinfo reports (nexnet extension).
struct dma_info {
    void* di_addr;        ///< where the memory starts in this process
    size_t di_size;       ///< its size (the size dma_alloc was given, rounded up to pages)
    size_t di_unit;       ///< the minimum allocation size, also the receive buffer size
    size_t di_free;       ///< bytes neither reserved, received nor posted for receiving
    size_t di_page_size;  ///< 2 MiB with hugepages, else 4 KiB
    int di_hugepages;     ///< 1 when backed by hugepages
    int di_locked;        ///< 1 when locked in RAM
    int di_associations;  ///< sockets the memory is associated with
};

/// Allocates @p size bytes of DMA-able memory (hugepages when the machine has free ones,
/// locked in RAM when allowed; see the flags) into @p *handlep.
/// @return 0, or -1 with errno: EINVAL (@p handlep NULL, unknown flags, @p size smaller than
/// one unit), ENOMEM (no memory; no hugepages with DMA_HUGEPAGES), mlock's errno with DMA_LOCKED.
int dma_alloc(dma_mem_t* handlep, size_t size, unsigned int flags);

/// Frees memory from dma_alloc; @p size must be the size it was given.
/// @return 0, or -1 with errno: EBADF (no such memory), EINVAL (wrong size), EBUSY (still
/// associated with a socket, or the kernel is still sending from part of it).
int dma_free(dma_mem_t handle, size_t size);

/// Associates @p mem with socket @p sock: receives on @p sock land in buffers the
/// implementation takes from @p mem (half of its free units; none with DMA_ASSOC_SEND), sends
/// on @p sock may come from @p mem. A socket may have several memories (receive buffers then
/// come from all of them); a memory may serve several sockets. @p size must be the size given
/// to dma_alloc.
/// @return 0, or -1 with errno: EBADF (@p sock is not a descriptor, or @p mem no memory),
/// ENOTSOCK, EINVAL (wrong size, unknown flags, too many units for one socket: 65536), EEXIST
/// (already associated with @p sock), ENOMEM (no free unit for receive buffers).
int dma_assoc(int sock, dma_mem_t mem, size_t size, unsigned flags);

/// Ends an association: the implementation stops receiving into @p mem for @p sock and takes
/// back the receive buffers it had not filled. Buffers the program holds stay valid until
/// sio_release; sending them on @p sock fails with EINVAL from now on.
/// @return 0, or -1 with errno: EBADF, EINVAL (wrong size), ENOENT (not associated).
int dma_disassoc(int sock, dma_mem_t mem, size_t size);

/// Reserves @p size bytes (rounded up to whole units) of @p dma for writing, typically data
/// to send; the address goes to @p *memp.
/// @return 0, or -1 with errno: EBADF, EINVAL (size 0 or larger than the memory, @p memp
/// NULL), ENOMEM (no run of free units that long).
int sio_reserve(dma_mem_t dma, void** memp, size_t size);

/// Gives back a buffer: one from sio_reserve (undoing it), or one sio_recv returned (back to
/// the receive buffers). @p mem may point anywhere inside the buffer and @p size may be less
/// than its length: the whole buffer is released.
/// @return 0, or -1 with errno: EBADF, EINVAL (not in @p dma, not in use, released already,
/// @p size 0 or past the buffer's end), EBUSY (the kernel owns it: posted for receiving).
int sio_release(dma_mem_t dma, void* mem, size_t size);

/// Describes @p mem (nexnet extension). @return 0, or -1 with errno EBADF or EINVAL.
int dma_getinfo(dma_mem_t mem, struct dma_info* info);

/// The memory holding the byte at @p p (nexnet extension): which handle to pass to sio_release
/// for a buffer a receive returned, when a socket has several memories.
/// @return the memory, or 0 (errno EINVAL) when @p p is in none.
dma_mem_t dma_find(const void* p);

#ifdef __cplusplus
}
#endif
