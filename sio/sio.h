#pragma once
/// @file sio.h
/// @brief Synchronous zero-copy network I/O (Drepper, section 6, Figure 5): sio_send,
/// sio_sendto, sio_sendmsg, sio_recv, sio_recvfrom, sio_recvmsg; the transport mode; messages.
///
/// The calls work like send(2) and recv(2) with one difference the paper insists on: **the
/// implementation chooses the receive buffer.** A receive returns a pointer into DMA memory
/// associated with the socket (dma.h) instead of filling the caller's buffer; the caller reads
/// the data there and gives the buffer back with sio_release. A send takes a buffer from that
/// memory: one sio_reserve handed out, or one a receive returned (an echo server sends what it
/// received, where it was received, without a copy). Anything else is refused (EINVAL).
///
/// @code
///   dma_mem_t mem;
///   dma_alloc(&mem, 1 << 22, 0);
///   dma_assoc(sock, mem, 1 << 22, 0);
///   for (;;) {
///       void *data;
///       struct sockaddr_in peer;
///       socklen_t peerlen = sizeof peer;
///       ssize_t n = sio_recvfrom(sock, &data, 65536, 0, (struct sockaddr *)&peer, &peerlen);
///       if (n < 0) break;
///       sio_sendto(sock, data, n, 0, (struct sockaddr *)&peer, peerlen);   // echo in place
///       sio_release(mem, data, n);
///   }
/// @endcode
///
/// **Transports.** The descriptor decides: a kernel socket (TCP, UDP, UNIX) goes through
/// io_uring where the kernel allows it: the socket's receive buffers are an io_uring provided-
/// buffer ring filled from its associated memory, the memory is registered with the kernel
/// (registered buffers), sends of sio_zerocopy_threshold() bytes or more are IORING_OP_SEND_ZC
/// (the buffer is the kernel's until its notification arrives; sio_release meanwhile is
/// accepted and takes effect then), and the completion ring is read without a system call.
/// Where io_uring is missing or forbidden (an older kernel, sysctl kernel.io_uring_disabled, a
/// container's seccomp profile), kernel sockets run on epoll with recvmmsg/sendmmsg batches
/// instead, and the library says so: sio_mode() and sio_mode_message(). Nothing falls back
/// silently; what has no fallback fails with ENOTSUP and a message (sio_last_error).
///
/// **Threads.** All calls are thread-safe. One thread receiving on a socket is the fast case;
/// several may, and each datagram reaches exactly one of them.
///
/// **Closing.** A descriptor used with these calls is closed with sio_close (it ends the
/// kernel's pending operations on it first; close(2) alone would leave the socket open in the
/// kernel until they end).
///
/// Corrections to the paper's prototypes, keeping its names and argument order:
/// - the calls return ssize_t (bytes), not int;
/// - sio_recvfrom's last two parameters are `struct sockaddr *from, socklen_t *fromlen`
///   (the paper copied sendto's `to, tolen`, which cannot return an address);
/// - sio_sendmsg and sio_recvmsg take a `struct msghdr *` as sendmsg(2) and recvmsg(2) do
///   (the paper's `buf, size` leave no place for addresses and control data); sio_recvmsg
///   sets `msg_iov[0]` to the data it chose;
/// - all receives return `void **` (the paper mixes `void **` and `const void **`): the
///   program owns the buffer until sio_release and may write it, to answer in place.

#include "sio/dma.h"
#include "sio/ec.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sends @p size bytes at @p buf, which must lie in one buffer of memory associated with
/// @p sock (from sio_reserve or a receive). Like send(2): blocks until the kernel took the
/// data unless @p sock is non-blocking or @p flags has MSG_DONTWAIT; a stream socket sends
/// all of it. With MSG_ZEROCOPY in @p flags the send must be zero-copy (ENOTSUP where it cannot).
/// @return bytes sent, or -1 with errno: send(2)'s, EINVAL (buffer not the program's DMA
/// memory for this socket), ENOTSUP (MSG_ZEROCOPY without io_uring's SEND_ZC).
ssize_t sio_send(int sock, const void* buf, size_t size, int flags);

/// sio_send to address @p to (@p tolen bytes), as sendto(2).
ssize_t sio_sendto(int sock, const void* buf, size_t size, int flags, const struct sockaddr* to, socklen_t tolen);

/// sio_send of @p msg's vectors (each inside one buffer of associated memory) with its
/// address and control data, as sendmsg(2).
ssize_t sio_sendmsg(int sock, const struct msghdr* msg, int flags);

/// Receives into a buffer the implementation chose: on return @p *buf points at the data,
/// inside memory associated with @p sock, and the program owns the buffer until sio_release.
/// At most @p size bytes are returned: the rest of a longer datagram is dropped (as recv(2)
/// does), the rest of a stream's data comes with the next call. Blocks unless @p sock is
/// non-blocking or @p flags has MSG_DONTWAIT. 0 means end of stream.
/// @return bytes received, or -1 with errno: recv(2)'s, EINVAL (no memory associated, or
/// flags nexnet cannot honour: MSG_PEEK, MSG_WAITALL), ENOBUFS (every receive buffer is held
/// by the program: release some), EBUSY (aio receives are pending on @p sock).
ssize_t sio_recv(int sock, void** buf, size_t size, int flags);

/// sio_recv, also returning the sender's address in @p from (@p *fromlen bytes of room on
/// entry, the address length on return), as recvfrom(2). @p from may be NULL.
ssize_t sio_recvfrom(int sock, void** buf, size_t size, int flags, struct sockaddr* from, socklen_t* fromlen);

/// sio_recv with recvmsg(2)'s extras: @p msg->msg_iov[0] (msg_iovlen at least 1) is set to the
/// data and its length, msg_name/msg_namelen and msg_control/msg_controllen are filled as
/// recvmsg(2) fills them, msg_flags says MSG_TRUNC/MSG_CTRUNC.
ssize_t sio_recvmsg(int sock, struct msghdr* msg, int flags);

/// Ends nexnet's use of @p sock (its pending operations, its receive buffers go back to their
/// memory, its associations end), then close(2)s it. @return 0, or -1 with close(2)'s errno.
int sio_close(int sock);

/// How kernel sockets are served.
enum sio_transport_mode {
    /// io_uring: provided buffers, registered buffers, SEND_ZC, completion rings.
    SIO_MODE_URING = 1,
    /// epoll with recvmmsg/sendmmsg: the kernel lacks or forbids what io_uring mode needs.
    SIO_MODE_EPOLL = 2
};

/// The mode kernel sockets run in (decided on first use: io_uring's features are probed; the
/// environment variable NEXNET_SIO_MODE=epoll forces the epoll mode).
int sio_mode(void);

/// Why the mode is what it is, in a sentence (for a log line): in epoll mode, what io_uring
/// lacked or who forbade it and what that costs.
const char* sio_mode_message(void);

/// Chooses the mode, while no socket uses the library (nexnet extension: tests run both
/// modes; a program may prefer epoll). @return 0, or -1 with errno: EBUSY (sockets are in
/// use), EINVAL (unknown mode), ENOTSUP (io_uring mode where the kernel cannot do it; the
/// message says what is missing).
int sio_set_mode(int mode);

/// Sends of at least this many bytes go zero-copy (SEND_ZC) in io_uring mode; smaller ones
/// are copied, which costs less than the kernel's page pinning and notification for them.
size_t sio_zerocopy_threshold(void);

/// Sets sio_zerocopy_threshold() (0: every send zero-copy). Returns the previous value.
size_t sio_set_zerocopy_threshold(size_t bytes);

/// Zero-copy sends made so far by this process (@p sent), and how many of them the kernel
/// copied after all (@p copied: the kernel reports it on the send's notification since Linux
/// 6.2, IORING_NOTIF_USAGE_ZC_COPIED; always 0 where it cannot). A copy happens when the data
/// goes to a socket on the same machine (loopback, veth into another namespace): such a
/// receiver cannot keep pages that still belong to the sender. Either pointer may be NULL.
void sio_zerocopy_stats(unsigned long long* sent, unsigned long long* copied);

/// What went wrong in the calling thread's last failed call of this library, in a sentence
/// ("" when nothing failed yet). The library never prints; this is its message to the caller.
const char* sio_last_error(void);

#ifdef __cplusplus
}
#endif
