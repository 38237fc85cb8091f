#pragma once
/// @file TcpCompletion.h
/// @brief TcpCompletion: what the TCP offload engine tells the application about a posted buffer.

#include "toe/TcpOffloadHandle.h"

#include <cstddef>
#include <cstdint>

namespace nexnet {

/// One completion of the TCP offload engine (seed claims 1, 8, 9, 17): a posted receive buffer is
/// full, was flushed, ended with the stream, or failed; a posted send buffer was acknowledged by
/// the peer (send true) or failed; or the connection ended or needs the kernel with no buffer
/// named (buffer nullptr, bytes 0). Buffers of one connection and direction complete in the order
/// they were posted, and the bytes of consecutive completions are consecutive bytes of the stream.
struct TcpCompletion {
    TcpOffloadHandle connection;     ///< The connection the buffer was posted on.
    std::uint64_t cookie = 0;        ///< The caller's cookie from postReceive (0 without a buffer).
    std::uint8_t* buffer = nullptr;  ///< The posted buffer, or nullptr for an end without one.
    std::size_t bytes = 0;           ///< Payload bytes placed at the start of buffer.
    bool endOfStream = false;        ///< The peer's FIN follows these bytes: no more data will come.
    /// 0, ECONNRESET (the peer reset), ECANCELED (closed or handed back), ETIMEDOUT (the peer stopped
    /// answering: retransmissions or keepalives unanswered), EOPNOTSUPP (buffer nullptr: the
    /// connection needs the kernel, TcpConnectionStatistics::handBackReason says why: hand it back).
    int error = 0;
    bool send = false;  ///< A send buffer (postSend): its bytes were all acknowledged when error is 0.
};

}  // namespace nexnet
