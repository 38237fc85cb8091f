// TcpRepair: TCP_REPAIR as Linux documents it in net/ipv4/tcp.c (do_tcp_setsockopt,
// do_tcp_getsockopt) and as CRIU's libsoccr uses it; the order of the restore steps matters and
// each is explained where it happens.
#include "toe/TcpRepair.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace nexnet {

namespace {

using Captured = Result<TcpConnectionState>;
using Restored = Result<int>;

std::string failed(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

int setOption(int fd, int option, int value) {
    return setsockopt(fd, SOL_TCP, option, &value, sizeof value) == 0 ? 0 : errno;
}

// The sequence number of @p queue (TCP_RECV_QUEUE: rcv_nxt; TCP_SEND_QUEUE: write_seq), and with
// @p length > 0 its first @p length bytes, peeked: recv in repair mode reads the selected queue.
int readQueue(int fd, int queue, std::uint32_t& sequence, std::uint32_t length, std::vector<std::uint8_t>& bytes) {
    if (int error = setOption(fd, TCP_REPAIR_QUEUE, queue)) return error;
    socklen_t size = sizeof sequence;
    if (getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &sequence, &size) != 0) return errno;
    bytes.resize(length + 1);  // one more than expected: proves the queue holds exactly length
    if (length == 0) {
        bytes.clear();
        return 0;
    }
    ssize_t got = recv(fd, bytes.data(), bytes.size(), MSG_PEEK | MSG_DONTWAIT);
    if (got != static_cast<ssize_t>(length)) return got < 0 ? errno : EIO;
    bytes.resize(length);
    return 0;
}

// Writes @p bytes into @p queue of a socket in repair mode: send() then queues them without
// transmitting (send queue: as sent and unacknowledged; receive queue: as received and unread).
// The kernel allocates one linear buffer per call for the receive queue, so large queues go in
// chunks (ENOMEM on too big a chunk).
int writeQueue(int fd, int queue, const std::uint8_t* bytes, std::size_t length) {
    if (length == 0) return 0;
    if (int error = setOption(fd, TCP_REPAIR_QUEUE, queue)) return error;
    std::size_t chunk = 64 * 1024;
    while (length > 0) {
        ssize_t sent = send(fd, bytes, std::min(length, chunk), 0);
        if (sent <= 0) {
            if (errno == ENOMEM && chunk > 1024) {
                chunk /= 2;
                continue;
            }
            return sent < 0 ? errno : EIO;
        }
        bytes += sent;
        length -= static_cast<std::size_t>(sent);
    }
    return 0;
}

int readOptions(int fd, TcpConnectionState& state) {
    tcp_info info{};
    socklen_t size = sizeof info;
    if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &size) != 0) return errno;
    if (info.tcpi_state != TCP_ESTABLISHED) return EINVAL;
    int mss = 0;
    size = sizeof mss;
    if (getsockopt(fd, SOL_TCP, TCP_MAXSEG, &mss, &size) != 0) return errno;
    state.mss = static_cast<std::uint16_t>(mss);
    state.sackPermitted = (info.tcpi_options & TCPI_OPT_SACK) != 0;
    state.timestamps = (info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0;
    state.windowScaling = (info.tcpi_options & TCPI_OPT_WSCALE) != 0;
    if (state.windowScaling) {
        state.sendWindowScale = info.tcpi_snd_wscale;
        state.receiveWindowScale = info.tcpi_rcv_wscale;
    }
    if (state.timestamps) {
        size = sizeof state.timestampClock;
        if (getsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &state.timestampClock, &size) != 0) return errno;
    }
    state.smoothedRtt = info.tcpi_rtt;
    state.rttVariance = info.tcpi_rttvar;
    state.congestionWindow = info.tcpi_snd_cwnd;
    state.slowStartThreshold = info.tcpi_snd_ssthresh >= 0xffff ? 0 : info.tcpi_snd_ssthresh;  // TCP_INFINITE_SSTHRESH
    int keepalive = 0;
    size = sizeof keepalive;
    if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &size) != 0) return errno;
    state.keepalive = keepalive != 0;
    for (auto [option, field] : {std::pair{TCP_KEEPIDLE, &state.keepaliveIdle},
                                 {TCP_KEEPINTVL, &state.keepaliveInterval},
                                 {TCP_KEEPCNT, &state.keepaliveCount}}) {
        int value = 0;
        size = sizeof value;
        if (getsockopt(fd, SOL_TCP, option, &value, &size) != 0) return errno;
        *field = static_cast<std::uint32_t>(value);
    }
    tcp_repair_window window{};
    size = sizeof window;
    if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &window, &size) == 0) {  // Linux 4.8 and later
        state.hasWindow = true;
        state.sendWindowUpdateSequence = window.snd_wl1;
        state.sendWindow = window.snd_wnd;
        state.maxSendWindow = window.max_window;
        state.receiveWindow = window.rcv_wnd;
        state.receiveWindowUpdate = window.rcv_wup;
    } else if (errno != ENOPROTOOPT) {
        return errno;
    }
    return 0;
}

}  // namespace

Result<TcpConnectionState> TcpRepair::capture(int fd) {
    TcpConnectionState state;
    socklen_t size = sizeof state.local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&state.local), &size) != 0)
        return Captured::failure(errno, failed("getsockname"));
    size = sizeof state.remote;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&state.remote), &size) != 0)
        return Captured::failure(errno, failed("getpeername"));
    if (state.local.sin_family != AF_INET)
        return Captured::failure(EAFNOSUPPORT, "only IPv4 connections are taken over");
    if (int error = setOption(fd, TCP_REPAIR, TCP_REPAIR_ON))
        return Captured::failure(error, error == EPERM ? "TCP_REPAIR needs CAP_NET_ADMIN" : failed("TCP_REPAIR"));
    auto undo = [fd](int error, std::string message) {
        setOption(fd, TCP_REPAIR, TCP_REPAIR_OFF);
        return Captured::failure(error, std::move(message));
    };
    // From here the kernel sends nothing for the connection, so the queues cannot move under us
    // on the send side; the receive side is the caller's to freeze (see the header).
    if (int error = readOptions(fd, state))
        return undo(
            error,
            error == EINVAL ? "the connection is not established" : "TCP_INFO: " + std::string(std::strerror(error)));
    int outstanding = 0, unsent = 0, unread = 0;
    if (ioctl(fd, SIOCOUTQ, &outstanding) != 0 || ioctl(fd, SIOCOUTQNSD, &unsent) != 0 ||
        ioctl(fd, SIOCINQ, &unread) != 0)
        return undo(errno, failed("queue lengths"));
    state.unsentBytes = static_cast<std::uint32_t>(unsent);
    if (int error =
            readQueue(fd, TCP_RECV_QUEUE, state.receiveNext, static_cast<std::uint32_t>(unread), state.receiveQueue))
        return undo(error, "receive queue: " + std::string(std::strerror(error)));
    if (int error =
            readQueue(fd, TCP_SEND_QUEUE, state.sendNext, static_cast<std::uint32_t>(outstanding), state.sendQueue))
        return undo(error, "send queue: " + std::string(std::strerror(error)));
    setOption(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
    state.readSequence = state.receiveNext - static_cast<std::uint32_t>(unread);
    state.sendUnacknowledged = state.sendNext - static_cast<std::uint32_t>(outstanding);
    return state;
}

Result<int> TcpRepair::restore(const TcpConnectionState& state, int fd, bool windowProbe) {
    if (fd < 0) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Restored::failure(errno, failed("socket"));
    auto fail = [fd](int error, std::string message) {
        close(fd);  // still in repair mode: nothing reaches the peer
        return Restored::failure(error, std::move(message));
    };
    // Repair mode makes bind() ignore every other socket on the port (sk_reuse = SK_FORCE_REUSE),
    // the listener that accepted the connection included; SO_REUSEADDR set after it would put
    // sk_reuse back to 1 and a listener would then refuse the port (EADDRINUSE).
    if (int error = setOption(fd, TCP_REPAIR, TCP_REPAIR_ON))
        return fail(error, error == EPERM ? "TCP_REPAIR needs CAP_NET_ADMIN" : failed("TCP_REPAIR"));
    if (bind(fd, reinterpret_cast<const sockaddr*>(&state.local), sizeof state.local) != 0)
        return fail(
            errno,
            errno == EADDRINUSE ? "the local port is still taken (close the placeholder first)" : failed("bind"));
    // Sequence numbers go in while the socket is closed (the kernel refuses them afterwards), each
    // at the start of what its queue will hold: writing the queue below advances them.
    std::uint32_t receiveStart = state.receiveNext - static_cast<std::uint32_t>(state.receiveQueue.size());
    std::uint32_t sendStart = state.sendNext - static_cast<std::uint32_t>(state.sendQueue.size());
    if (int error = setOption(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) return fail(error, failed("TCP_REPAIR_QUEUE"));
    if (setsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &receiveStart, sizeof receiveStart) != 0)
        return fail(errno, failed("receive sequence"));
    if (int error = setOption(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) return fail(error, failed("TCP_REPAIR_QUEUE"));
    if (setsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &sendStart, sizeof sendStart) != 0)
        return fail(errno, failed("send sequence"));
    // In repair mode connect() sends no SYN: the socket becomes established at once.
    if (connect(fd, reinterpret_cast<const sockaddr*>(&state.remote), sizeof state.remote) != 0)
        return fail(errno, failed("connect"));
    // Options the handshake negotiated, which the kernel cannot learn any other way.
    tcp_repair_opt options[4];
    unsigned count = 0;
    options[count++] = {TCPOPT_MAXSEG, state.mss};
    if (state.sackPermitted) options[count++] = {TCPOPT_SACK_PERMITTED, 0};
    if (state.windowScaling)
        options[count++] = {TCPOPT_WINDOW,
                            state.sendWindowScale | static_cast<std::uint32_t>(state.receiveWindowScale) << 16};
    if (state.timestamps) options[count++] = {TCPOPT_TIMESTAMP, 0};
    if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, options, count * sizeof options[0]) != 0)
        return fail(errno, failed("TCP_REPAIR_OPTIONS"));
    if (state.timestamps &&
        setsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &state.timestampClock, sizeof state.timestampClock) != 0)
        return fail(errno, failed("TCP_TIMESTAMP"));
    // Queues: unread bytes as received; sent-unacknowledged bytes as sent (in repair mode); the
    // never-sent tail with repair off, so the kernel transmits it as new data.
    if (int error = writeQueue(fd, TCP_RECV_QUEUE, state.receiveQueue.data(), state.receiveQueue.size()))
        return fail(error, "receive queue: " + std::string(std::strerror(error)));
    std::size_t sent = state.sendQueue.size() - std::min<std::size_t>(state.unsentBytes, state.sendQueue.size());
    if (int error = writeQueue(fd, TCP_SEND_QUEUE, state.sendQueue.data(), sent))
        return fail(error, "send queue: " + std::string(std::strerror(error)));
    if (state.hasWindow) {
        tcp_repair_window window{state.sendWindowUpdateSequence, state.sendWindow, state.maxSendWindow,
                                 state.receiveWindow, state.receiveWindowUpdate};
        if (setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &window, sizeof window) != 0)
            return fail(errno, failed("TCP_REPAIR_WINDOW"));
    }
    setOption(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
    if (state.keepalive) {  // the application's keepalive carries on in the kernel
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
        setOption(fd, TCP_KEEPIDLE, static_cast<int>(state.keepaliveIdle));
        setOption(fd, TCP_KEEPINTVL, static_cast<int>(state.keepaliveInterval));
        setOption(fd, TCP_KEEPCNT, static_cast<int>(state.keepaliveCount));
    }
    if (int error = setOption(fd, TCP_REPAIR, windowProbe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP))
        return fail(error, failed("TCP_REPAIR off"));
    const std::uint8_t* unsent = state.sendQueue.data() + sent;
    // Room for all of it, so the send below never waits for the peer's window.
    int room = static_cast<int>(std::min<std::size_t>(state.sendQueue.size() * 2 + 65536, 1u << 30));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room);
    for (std::size_t left = state.sendQueue.size() - sent; left > 0;) {
        ssize_t written = send(fd, unsent, left, MSG_NOSIGNAL);
        if (written <= 0) return fail(written < 0 ? errno : EIO, failed("unsent data"));
        unsent += written;
        left -= static_cast<std::size_t>(written);
    }
    return fd;
}

void TcpRepair::closeSilently(int fd) {
    // In repair mode tcp_close() drops the connection without a FIN or RST (net/ipv4/tcp.c,
    // tcp_close: "if (unlikely(tp->repair)) sk->sk_err = ECONNABORTED" rather than sending).
    close(fd);
}

int TcpRepair::resume(int fd) { return setOption(fd, TCP_REPAIR, TCP_REPAIR_OFF); }

}  // namespace nexnet
