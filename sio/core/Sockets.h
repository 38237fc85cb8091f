#pragma once
/// @file Sockets.h
/// @brief Sockets: descriptors used with the sio/aio calls, and the transports that serve them.

#include "sio/SioSocket.h"
#include "sio/SioTransport.h"
#include "sio/core/HandleTable.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace nexnet::sio {

/// The SioSocket of every descriptor in use, found by descriptor number without a lock, made
/// on first use by the first transport that claims the descriptor, ended by sio_close.
class Sockets {
public:
    /// The one instance (the kernel-socket transport is built in).
    static Sockets& instance();

    /// The state of @p fd, made when @p create and there is none yet. Empty (errno and
    /// message set) when @p fd is not a descriptor any transport serves.
    HandleTable<SioSocket>::Ref acquire(int fd, bool create);
    /// The socket named by @p handle (channels and memories keep handles).
    HandleTable<SioSocket>::Ref byHandle(std::uintptr_t handle) { return table_.acquire(handle); }
    /// sio_close's first half: ends the state of @p fd (shutDown), if any. @return true when
    /// there was one.
    bool close(int fd);
    /// Sockets in use.
    std::size_t size() { return table_.size(); }
    /// Adds a transport, asked before those added earlier.
    void addTransport(std::unique_ptr<SioTransport> transport);

private:
    Sockets();
    std::atomic<std::uintptr_t>* slotOf(int fd, bool create);

    static constexpr std::size_t kChunk = 4096;
    static constexpr std::size_t kChunks = 1024;  // descriptors up to 4 Mi
    HandleTable<SioSocket> table_{65536};
    std::atomic<std::atomic<std::uintptr_t>*> chunks_[kChunks] = {};
    std::mutex createLock_;
    std::vector<std::unique_ptr<SioTransport>> transports_;
};

}  // namespace nexnet::sio
