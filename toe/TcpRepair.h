#pragma once
/// @file TcpRepair.h
/// @brief TcpRepair: takes an established kernel TCP connection over (capture) and gives one back
/// (restore) through Linux's TCP_REPAIR, as CRIU migrates connections.

#include "netbuf/Result.h"
#include "toe/TcpConnectionState.h"

namespace nexnet {

/// The kernel side of the TCP-offload hand-off (seed claims 5, 6, 16, 18, 20) and hand-back.
///
/// capture() puts a socket into repair mode, where the kernel stops transmitting for it (no data,
/// ACK, window update, retransmission or keepalive leaves it), and reads its state and queues.
/// A socket in repair mode still accepts arriving segments into its queues: whoever takes a
/// connection over must stop the kernel from seeing the peer's segments (claim the 4-tuple)
/// before calling capture, or bytes that arrive meanwhile are acknowledged by nobody and lost.
/// The captured socket stays open in repair mode as the port's placeholder; closeSilently() ends
/// it without a FIN or RST reaching the peer.
///
/// restore() makes a new kernel socket that carries on a connection from a state: bound to the
/// same local address and port, connected without a handshake, with the sequence numbers,
/// options, timestamp clock, windows and queue contents given. The application then reads and
/// writes it as if nothing had happened.
///
/// Needs CAP_NET_ADMIN in the socket's network namespace (EPERM otherwise). Only established
/// connections (TCP_ESTABLISHED) are taken or given: a connection closing in either direction has
/// FIN state the kernel cannot be told without injecting segments. Control path only: a few
/// system calls per connection; blocks for nothing.
class TcpRepair {
public:
    /// Puts @p fd (a connected TCP socket) in repair mode and reads its state and both queues
    /// (MSG_PEEK: the bytes stay in the kernel's queues). On success @p fd is left in repair mode;
    /// on failure it is put back to normal operation. Errors, with a message: EPERM (no
    /// CAP_NET_ADMIN), ENOTCONN / EINVAL (not an established TCP connection), or a system call's.
    static Result<TcpConnectionState> capture(int fd);

    /// Turns a new TCP socket into one that carries on the connection @p state describes, and
    /// returns it out of repair mode. @p fd is a fresh TCP socket made in the connection's network
    /// namespace (a socket belongs to the namespace it was made in), or -1 to make one in the
    /// caller's. The socket is blocking, as accept() or connect() would have made it; @p
    /// windowProbe false turns repair off without the window probe the kernel otherwise sends
    /// (TCP_REPAIR_OFF_NO_WP), true sends one so the peer learns our window at once. On failure
    /// the socket is closed. Errors, with a message: EPERM, EADDRINUSE (the local port is taken:
    /// close the placeholder first), or a system call's.
    static Result<int> restore(const TcpConnectionState& state, int fd = -1, bool windowProbe = true);

    /// Closes a socket left in repair mode by capture(): the kernel forgets the connection without
    /// sending a FIN or RST, so the peer sees nothing.
    static void closeSilently(int fd);

    /// Takes a socket out of repair mode again (after a capture whose hand-off was abandoned):
    /// the kernel resumes the connection where it stopped. @return 0 or an errno.
    static int resume(int fd);
};

}  // namespace nexnet
