#pragma once
/// @file AppRingClient.h
/// @brief AppRingClient: an application's side of an interface's rings (C++; app_ring.h is the C API).

#include "netbuf/Result.h"
#include "netif/app_ring.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace nexnet {

/// What an application links to map an interface's rings from the process that runs the
/// interface (an AppRingServer) and move packets through them without copies or syscalls.
///
/// connect() sends the request, receives the ring region, the pool's data region (read-write),
/// its metadata (read-only) and the eventfds, and maps them. receive() removes packets from
/// ring 1: from then on they belong to this application alone (claim 9) until send() inserts
/// them into ring 2. Destroying the client unmaps the rings; whatever it still holds returns to
/// the framework (claims 3, 11), as it does when the process dies.
///
/// While it is the only application mapping the rings, the client removes from ring 1 as a
/// single consumer (plain stores, cached cursors); once another one maps them it switches to
/// shared removal at its next call, as app_ring.h describes.
///
/// The client checks what it reads from the shared region too (another application may have
/// scribbled on it): entries naming buffers outside the pool are dropped and counted.
///
/// One thread per client: the methods are not thread-safe against each other, but several
/// clients (in one or several processes) may use the same rings at once.
class AppRingClient {
public:
    /// What to ask for.
    struct Options {
        app_ring_mode mode = APP_RING_JOIN;  ///< Mode to create the rings in (JOIN: map existing ones).
        std::uint32_t minPosted = 0;         ///< Non-network mode: buffers to keep posted (0: default).
        std::uint32_t slotCount = 0;         ///< Slots per ring when creating (0: default).
    };

    /// Connects to the server at @p path and maps @p interface's rings.
    /// Errors: the server's (EACCES, ENODEV, EBUSY, EPERM, ENOENT for JOIN without rings,
    /// EMFILE), EPROTO for a malformed answer, or the errno of socket/connect/mmap.
    static Result<std::unique_ptr<AppRingClient>> connect(const std::string& path, const std::string& interface,
                                                          const Options& options);
    /// Unmaps the rings and closes the connection.
    ~AppRingClient();
    AppRingClient(const AppRingClient&) = delete;
    AppRingClient& operator=(const AppRingClient&) = delete;

    /// Removes up to @p max entries from ring 1 into @p packets (data pointers valid in this
    /// process). The buffers are this application's until sent. @return the number removed.
    unsigned receive(app_ring_packet* packets, unsigned max);
    /// Removes up to @p max entries from ring 1 as the ring holds them (8 bytes each, unchecked):
    /// the cheapest way to take a burst, as rte_ring moves pointers. The buffers are this
    /// application's as with receive(); packet(entry) checks an entry and locates its data when
    /// the application looks at it. @return the number removed.
    unsigned receiveEntries(app_ring_entry* entries, unsigned max);
    /// The packet @p entry names (data pointer in this process), or a packet with data nullptr
    /// when the entry names memory outside the pool.
    app_ring_packet packet(const app_ring_entry& entry) const;
    /// Inserts @p count packets (index, offset, length, flags: APP_RING_SLOT_DROP gives a buffer
    /// back unsent) into ring 2, all or none, and kicks the
    /// framework. Only buffers this application received may be sent (others are refused by the
    /// framework and stay with their owner). @return @p count, or 0 when there is no room.
    unsigned send(const app_ring_packet* packets, unsigned count);
    /// As send, without kicking the framework (batch several sends, then kick()).
    unsigned sendWithoutKick(const app_ring_packet* packets, unsigned count);
    /// Tells the framework that ring 2 has entries.
    void kick();

    /// Sleeps until ring 1 has entries (claim 13) or @p timeout passes.
    /// @return 0, ETIMEDOUT or poll's errno.
    int waitReceive(std::chrono::milliseconds timeout);
    /// Sleeps until ring 2 has room for @p count entries (claim 14) or @p timeout passes.
    int waitSend(std::chrono::milliseconds timeout, unsigned count = 1);
    /// Asks to be signalled on receiveEventFd() at the next insertion into ring 1 (for poll/epoll).
    void armReceive();
    /// Asks to be signalled on sendEventFd() at the next removal from ring 2.
    void armSend();
    /// Readable when armReceive was called and ring 1 got entries since. Owned by the client.
    int receiveEventFd() const { return ring1Fd_; }
    /// Readable when armSend was called and ring 2 lost entries since. Owned by the client.
    int sendEventFd() const { return ring2Fd_; }
    /// Entries waiting in ring 1.
    std::uint32_t receivable() const;

    /// Start of buffer @p index in this process, or nullptr for an index outside the pool.
    std::uint8_t* buffer(std::uint32_t index) const;
    /// A packet for buffer @p index holding @p length bytes at the default headroom: for
    /// applications that fill an empty buffer (non-network mode).
    app_ring_packet packet(std::uint32_t index, std::uint32_t length) const;
    /// The description the framework wrote (mode, sizes).
    const app_ring_header& header() const { return header_; }
    /// This application's owner token.
    std::uint32_t token() const { return token_; }
    /// Entries dropped because they named buffers outside the pool.
    std::uint64_t invalid() const { return invalid_; }
    /// The raw shared region, for tests that play a hostile application.
    app_ring_shared* shared() const { return reinterpret_cast<app_ring_shared*>(region_); }
    /// The metadata region (read-only mapping): the framework's Netbuf records.
    const std::uint8_t* metadata() const { return metadata_; }

private:
    AppRingClient() = default;
    int setUp(const app_ring_reply& reply, const int* fds);
    int wait(int fd, std::uint32_t& flag, bool (AppRingClient::*ready)(unsigned) const, unsigned count,
             std::chrono::milliseconds timeout);
    bool ring1Ready(unsigned count) const;
    bool ring2Ready(unsigned count) const;
    app_ring_slot* slots(std::uint32_t offset) const { return reinterpret_cast<app_ring_slot*>(region_ + offset); }
    std::uint64_t* entries() const { return reinterpret_cast<std::uint64_t*>(region_ + header_.ring1_offset); }
    bool followConsumers();
    bool mayRemove() const;
    template <typename Copy> unsigned remove(unsigned max, Copy copy);
    template <typename Copy> unsigned removeAlone(unsigned max, Copy copy);
    template <typename Copy> unsigned removeShared(unsigned max, Copy copy);
    struct Unpacker;
    Unpacker unpacker() const;
    unsigned delivered(unsigned kept, unsigned removed);

    int socket_ = -1;
    int kickFd_ = -1;
    int ring1Fd_ = -1;
    int ring2Fd_ = -1;
    std::uint8_t* region_ = nullptr;
    std::size_t regionSize_ = 0;
    std::uint8_t* data_ = nullptr;
    std::size_t dataSize_ = 0;
    std::uint8_t* metadata_ = nullptr;
    std::size_t metadataSize_ = 0;
    app_ring_header header_{};
    std::uint32_t mask_ = 0;
    std::uint32_t slot_ = 0;
    std::uint32_t token_ = 0;
    std::uint64_t invalid_ = 0;
    std::uint32_t cachedHead_ = 0;    // ring-1 head as last read: entries before it are published
    bool shared_ = false;             // ring 1 has (or had) other consumers: remove with CAS and claim
    bool wasSingle_ = false;          // this client was the single consumer before it became shared
};

}  // namespace nexnet
