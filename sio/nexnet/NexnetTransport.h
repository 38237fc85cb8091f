#pragma once
/// @file NexnetTransport.h
/// @brief NexnetTransport: the SioTransport of nexnet UDP endpoints (sio_nexnet_open).

#include "sio/SioTransport.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace nexnet::sio {

class NexnetEndpoint;
class PoolMemory;

/// Claims exactly the descriptors sio_nexnet_open made: open() offers each one with its
/// endpoint, and the first sio call on it (made by sio_nexnet_open itself) takes the offer into
/// a NexnetSocket. Added to the sio calls' transports once, on the first sio_nexnet_open.
class NexnetTransport : public SioTransport {
public:
    /// The one instance, added to the transports on first use.
    static NexnetTransport& instance();

    /// "nexnet endpoint".
    const char* name() const override { return "nexnet endpoint"; }
    /// True for a descriptor offered and not yet opened.
    bool claims(int fd) const override;
    /// Makes the NexnetSocket of an offered descriptor. Errors: ENOTSUP (not offered).
    Result<std::unique_ptr<SioSocket>> open(int fd) override;

    /// Offers @p fd, naming @p endpoint whose pool memory is @p memory (handle @p memoryHandle).
    void offer(int fd, std::unique_ptr<NexnetEndpoint> endpoint, std::uintptr_t memoryHandle, PoolMemory& memory);
    /// Takes an offer back (its endpoint is destroyed). @return true when there was one.
    bool withdraw(int fd);

private:
    NexnetTransport() = default;
    struct Offer {
        std::unique_ptr<NexnetEndpoint> endpoint;
        std::uintptr_t memoryHandle = 0;
        PoolMemory* memory = nullptr;
    };
    mutable std::mutex lock_;
    std::map<int, Offer> offers_;
};

}  // namespace nexnet::sio
