#include "sio/core/Sockets.h"

#include "sio/core/Channel.h"
#include "sio/core/EventSource.h"
#include "sio/core/Failure.h"
#include "sio/core/Memory.h"
#include "sio/kernel/KernelTransport.h"

#include <cerrno>
#include <sys/stat.h>

namespace nexnet::sio {

Sockets& Sockets::instance() {
    static Sockets* sockets = new Sockets();
    return *sockets;
}

Sockets::Sockets() { transports_.push_back(std::make_unique<KernelTransport>()); }

std::atomic<std::uintptr_t>* Sockets::slotOf(int fd, bool create) {
    if (fd < 0 || static_cast<std::size_t>(fd) >= kChunk * kChunks) return nullptr;
    auto chunk = static_cast<std::size_t>(fd) / kChunk;
    std::atomic<std::uintptr_t>* slots = chunks_[chunk].load(std::memory_order_acquire);
    if (slots == nullptr) {
        if (!create) return nullptr;
        auto* fresh = new std::atomic<std::uintptr_t>[kChunk]();
        if (!chunks_[chunk].compare_exchange_strong(slots, fresh, std::memory_order_acq_rel))
            delete[] fresh;  // another thread made it
        else slots = fresh;
    }
    return &slots[static_cast<std::size_t>(fd) % kChunk];
}

HandleTable<SioSocket>::Ref Sockets::acquire(int fd, bool create) {
    std::atomic<std::uintptr_t>* slot = slotOf(fd, create);
    if (slot != nullptr) {
        if (std::uintptr_t handle = slot->load(std::memory_order_acquire); handle != 0) {
            auto socket = table_.acquire(handle);
            if (socket) return socket;
        }
    }
    if (!create || slot == nullptr) {
        fail(EBADF, "descriptor %d is not in use with sio/aio calls", fd);
        return {};
    }
    std::lock_guard<std::mutex> lock(createLock_);
    if (std::uintptr_t handle = slot->load(std::memory_order_acquire); handle != 0) {
        auto socket = table_.acquire(handle);
        if (socket) return socket;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        fail(EBADF, "descriptor %d is not open", fd);
        return {};
    }
    for (auto it = transports_.rbegin(); it != transports_.rend(); ++it) {
        if (!(*it)->claims(fd)) continue;
        auto opened = (*it)->open(fd);
        if (!opened) {
            if (opened.error() != ENOTSUP) failSystem(opened.error(), "opening a socket for sio");
            errno = opened.error();
            return {};
        }
        SioSocket* raw = opened->get();
        std::uintptr_t handle = table_.insert(std::move(opened.value()));
        if (handle == 0) {
            fail(EMFILE, "65536 descriptors are in use with sio/aio calls already");
            return {};
        }
        raw->setHandle(handle);
        slot->store(handle, std::memory_order_release);
        return table_.acquire(handle);
    }
    fail(ENOTSOCK, "descriptor %d is not a socket (nor a nexnet endpoint)", fd);
    return {};
}

bool Sockets::close(int fd) {
    std::atomic<std::uintptr_t>* slot = slotOf(fd, false);
    if (slot == nullptr) return false;
    std::uintptr_t handle = slot->exchange(0, std::memory_order_acq_rel);
    if (handle == 0) return false;
    return table_.destroy(handle, [](SioSocket& socket) { socket.shutDown(); }) == 0;
}

void Sockets::addTransport(std::unique_ptr<SioTransport> transport) {
    std::lock_guard<std::mutex> lock(createLock_);
    transports_.push_back(std::move(transport));
}

bool deliverFrom(std::uintptr_t sourceHandle, Channel& channel) {
    auto socket = Sockets::instance().byHandle(sourceHandle);
    if (!socket) return false;
    socket->deliver(channel);
    return true;
}

bool recycleTo(std::uintptr_t socketHandle, Memory& memory, std::size_t unit) {
    auto socket = Sockets::instance().byHandle(socketHandle);
    return socket && socket->recycle(memory, unit);
}

}  // namespace nexnet::sio

void nexnet::addSioTransport(std::unique_ptr<SioTransport> transport) {
    sio::Sockets::instance().addTransport(std::move(transport));
}
