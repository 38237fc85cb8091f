// NexnetTransport and sio_nexnet_open (sio/nexnet.h).
#include "sio/nexnet/NexnetTransport.h"

#include "sio/core/Failure.h"
#include "sio/core/Runtime.h"
#include "sio/core/Sockets.h"
#include "sio/nexnet.h"
#include "sio/nexnet/NexnetEndpoint.h"
#include "sio/nexnet/NexnetSocket.h"
#include "sio/nexnet/PoolMemory.h"
#include "netbuf/NetbufPool.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace nexnet::sio {

NexnetTransport& NexnetTransport::instance() {
    // Owned by the transports' list (which lives as long as the process); made and added once.
    static NexnetTransport* transport = [] {
        auto made = std::unique_ptr<NexnetTransport>(new NexnetTransport);
        NexnetTransport* raw = made.get();
        addSioTransport(std::move(made));
        return raw;
    }();
    return *transport;
}

bool NexnetTransport::claims(int fd) const {
    std::lock_guard<std::mutex> lock(lock_);
    return offers_.count(fd) != 0;
}

Result<std::unique_ptr<SioSocket>> NexnetTransport::open(int fd) {
    std::lock_guard<std::mutex> lock(lock_);
    auto it = offers_.find(fd);
    if (it == offers_.end()) return Result<std::unique_ptr<SioSocket>>::failure(ENOTSUP);
    std::unique_ptr<SioSocket> socket =
        std::make_unique<NexnetSocket>(fd, std::move(it->second.endpoint), it->second.memoryHandle, *it->second.memory);
    offers_.erase(it);
    return socket;
}

void NexnetTransport::offer(int fd, std::unique_ptr<NexnetEndpoint> endpoint, std::uintptr_t memoryHandle,
                            PoolMemory& memory) {
    std::lock_guard<std::mutex> lock(lock_);
    offers_[fd] = Offer{std::move(endpoint), memoryHandle, &memory};
}

bool NexnetTransport::withdraw(int fd) {
    std::lock_guard<std::mutex> lock(lock_);
    return offers_.erase(fd) != 0;
}

namespace {

// "10.0.0.2/24" into an address and a netmask. @return false when malformed.
bool parseAddress(const char* text, in_addr& address, in_addr& netmask) {
    std::string s(text);
    unsigned long prefix = 24;
    if (auto slash = s.find('/'); slash != std::string::npos) {
        char* end;
        prefix = std::strtoul(s.c_str() + slash + 1, &end, 10);
        if (*end != '\0' || end == s.c_str() + slash + 1 || prefix < 1 || prefix > 30) return false;
        s.resize(slash);
    }
    if (inet_pton(AF_INET, s.c_str(), &address) != 1) return false;
    netmask.s_addr = htonl(~std::uint32_t{0} << (32 - prefix));
    return true;
}

}  // namespace

}  // namespace nexnet::sio

using namespace nexnet::sio;

extern "C" int sio_nexnet_open(const char* uri, const char* address, unsigned short port, dma_mem_t* memp) {
    in_addr ip{}, netmask{};
    if (uri == nullptr || address == nullptr || memp == nullptr)
        return fail(EINVAL, "sio_nexnet_open: %s is NULL",
                    uri == nullptr           ? "uri"
                        : address == nullptr ? "address"
                                             : "memp");
    if (!parseAddress(address, ip, netmask))
        return fail(EINVAL, "sio_nexnet_open: address %s is not IPv4 address/prefix (10.0.0.2/24)", address);
    auto endpoint = NexnetEndpoint::open(uri, ip, netmask, port);
    if (!endpoint)
        return fail(endpoint.error(), "sio_nexnet_open: %s: %s%s%s", uri, std::strerror(endpoint.error()),
                    endpoint.message().empty() ? "" : ": ", endpoint.message().c_str());
    auto memory = std::make_unique<PoolMemory>(endpoint.value()->pool());
    PoolMemory* raw = memory.get();
    std::uintptr_t handle = PoolMemory::table().insert(std::move(memory));
    if (handle == 0) return fail(ENOMEM, "sio_nexnet_open: 256 nexnet endpoints are open already");
    raw->setHandle(handle | PoolMemory::kTag);
    const auto& region = endpoint.value()->pool()->dataRegion();
    int fd = fcntl(endpoint.value()->readinessFd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        int error = errno;
        PoolMemory::table().destroy(handle, [](PoolMemory&) {});
        return failSystem(error, "sio_nexnet_open: dup");
    }
    NexnetTransport& transport = NexnetTransport::instance();
    transport.offer(fd, std::move(endpoint.value()), handle, *raw);
    if (!Sockets::instance().acquire(fd, true)) {
        int error = errno;
        transport.withdraw(fd);
        PoolMemory::table().destroy(handle, [](PoolMemory&) {});
        close(fd);
        errno = error;
        return -1;
    }
    Runtime::instance().addRange(handle | PoolMemory::kTag, region.data(), region.size());
    *memp = reinterpret_cast<dma_mem_t>(handle | PoolMemory::kTag);
    return fd;
}
