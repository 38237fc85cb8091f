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
/// connect() sends the request, receives the regions (app_ring.h) and eventfds, and maps them.
/// receive() removes packets from ring 1: from then on they belong to this application alone
/// (claim 9) until send() inserts them into its ring 2. Destroying the client unmaps the rings;
/// whatever it still holds returns to the framework (claims 3, 11), as it does when the process
/// dies.
///
/// While it is the only application mapping the rings, the client removes from ring 1 as a
/// single consumer (plain stores, cached cursors); once another one maps them it finishes the
/// entries posted before and then removes with CAS and claims, as app_ring.h describes.
///
/// The client checks everything it reads from shared memory (another application, or a broken
/// framework, may have scribbled on it): a mapping that does not match its header is refused,
/// entries naming buffers outside the pool are dropped and counted, and a wait returns EPIPE
/// once the framework has ended.
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
        bool privateRings = false;           ///< Ask for a ring 1 of its own (APP_RING_PRIVATE).
    };

    /// Connects to the server at @p path and maps @p interface's rings.
    /// Errors: the server's (EACCES, ENODEV, EBUSY, EPERM, ENOENT for JOIN without rings,
    /// EMFILE), EPROTO for a malformed answer, or the errno of socket/connect/mmap.
    static Result<std::unique_ptr<AppRingClient>> connect(const std::string& path, const std::string& interface,
                                                          const Options& options);
    /// Maps the rings a framework's @p reply describes, as connect() does once the reply arrived:
    /// takes ownership of @p socket and of the APP_RING_REPLY_FDS descriptors in @p fds (in the
    /// order of app_ring_reply). For tests and fuzz targets that play the framework.
    /// Errors: EPROTO when the regions do not match their header, or the errno of fstat/mmap.
    static Result<std::unique_ptr<AppRingClient>> adopt(int socket, const app_ring_reply& reply, const int* fds);
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
    /// back unsent) into this application's ring 2, all or none, and kicks the framework. Only
    /// buffers this application received may be sent (others are refused by the framework and
    /// stay with their holder). @return @p count, or 0 when there is no room.
    unsigned send(const app_ring_packet* packets, unsigned count);
    /// As send, without kicking the framework (batch several sends, then kick()).
    unsigned sendWithoutKick(const app_ring_packet* packets, unsigned count);
    /// Tells the framework that ring 2 has entries.
    void kick();

    /// Sleeps until ring 1 has entries (claim 13) or @p timeout passes.
    /// @return 0, ETIMEDOUT, EPIPE when the framework ended (its connection closed), or poll's errno.
    int waitReceive(std::chrono::milliseconds timeout);
    /// Sleeps until ring 2 has room for @p count entries (claim 14) or @p timeout passes.
    /// @return 0, ETIMEDOUT, EPIPE when the framework ended, or poll's errno.
    int waitSend(std::chrono::milliseconds timeout, unsigned count = 1);
    /// Asks to be signalled on receiveEventFd() at the next insertion into ring 1 (for poll/epoll).
    void armReceive();
    /// Asks to be signalled on sendEventFd() at the next removal from ring 2.
    void armSend();
    /// Readable when armReceive was called and ring 1 got entries since. Owned by the client.
    int receiveEventFd() const { return ring1Fd_; }
    /// Readable when armSend was called and ring 2 lost entries since. Owned by the client.
    int sendEventFd() const { return ring2Fd_; }
    /// The connection to the framework: readable (end of file) once the framework ended or
    /// dropped this application. Owned by the client.
    int controlFd() const { return socket_; }
    /// Entries waiting in ring 1 that this application may remove.
    std::uint32_t receivable() const;

    /// Start of buffer @p index in this process, or nullptr for an index outside the pool.
    std::uint8_t* buffer(std::uint32_t index) const;
    /// A packet for buffer @p index holding @p length bytes at the default headroom: for
    /// applications that fill an empty buffer (non-network mode).
    app_ring_packet packet(std::uint32_t index, std::uint32_t length) const;
    /// The description the framework wrote (mode, sizes), as checked when mapping.
    const app_ring_header& header() const { return header_; }
    /// This application's claim token.
    std::uint32_t token() const { return token_; }
    /// Entries dropped: they named memory outside the pool, or the framework took them back
    /// before this application's claim (it was too slow, or another one scribbled).
    std::uint64_t invalid() const { return invalid_; }
    /// The posted region (read-only mapping), for tests.
    const app_ring_posted* posted() const { return reinterpret_cast<const app_ring_posted*>(posted_); }
    /// The taken region (ring-1 cursors and claims), for tests and samples that play a hostile application.
    app_ring_taken* taken() const { return reinterpret_cast<app_ring_taken*>(taken_); }
    /// This application's own region (ring 2, wait flags).
    app_ring_app* application() const { return reinterpret_cast<app_ring_app*>(app_); }
    /// The metadata region (read-only mapping): the framework's Netbuf records.
    const std::uint8_t* metadata() const { return metadata_; }

private:
    enum class Removal {
        single,  // the only consumer: plain stores of single_tail
        domain,  // shared now: finishing the entries posted before shared_from
        shared,  // CAS on the tail and claims
    };
    struct Mapping {
        std::uint8_t* address = nullptr;
        std::size_t size = 0;
    };

    AppRingClient() = default;
    int setUp(const app_ring_reply& reply);
    bool headerFits() const;
    int wait(int fd, std::uint32_t& flag, bool (AppRingClient::*ready)(unsigned) const, unsigned count,
             std::chrono::milliseconds timeout);
    bool ring1Ready(unsigned count) const;
    bool ring2Ready(unsigned count) const;
    const std::uint64_t* entries() const {
        return reinterpret_cast<const std::uint64_t*>(posted_ + header_.entries_offset);
    }
    std::uint64_t* claims() const { return reinterpret_cast<std::uint64_t*>(taken_ + header_.claims_offset); }
    app_ring_slot* slots() const { return reinterpret_cast<app_ring_slot*>(app_ + header_.slots_offset); }
    template <typename Copy>
    unsigned remove(unsigned max, Copy copy);
    template <typename Copy>
    unsigned removeAlone(unsigned max, Copy copy);
    template <typename Copy>
    unsigned removeShared(unsigned max, Copy copy);
    bool enterShared();
    bool skipDecided(std::uint32_t tail, std::uint32_t head);
    struct Unpacker;
    Unpacker unpacker() const;
    unsigned delivered(unsigned kept, unsigned removed);

    int socket_ = -1;
    int fds_[APP_RING_REPLY_FDS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    int kickFd_ = -1;
    int ring1Fd_ = -1;
    int ring2Fd_ = -1;
    std::uint8_t* posted_ = nullptr;
    std::uint8_t* taken_ = nullptr;
    std::uint8_t* app_ = nullptr;
    std::uint8_t* data_ = nullptr;
    std::uint8_t* metadata_ = nullptr;
    Mapping mappings_[5];
    app_ring_header header_{};
    std::uint32_t mask_ = 0;
    std::uint32_t token_ = 0;
    std::uint64_t invalid_ = 0;
    Removal removal_ = Removal::single;
    std::uint32_t tail_ = 0;        // single / domain: this client's own ring-1 tail
    std::uint32_t cachedHead_ = 0;  // single: ring-1 head as last read
    std::uint32_t sharedFrom_ = 0;  // domain / shared: where shared removal starts
    std::uint32_t head2_ = 0;       // ring 2: this client's own head
};

}  // namespace nexnet
