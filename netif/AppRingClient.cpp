#include "netif/AppRingClient.h"

#include "netif/AppRingEntry.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {

constexpr unsigned kChunk = 32;  // ring-1 entries read ahead of their checks

std::uint32_t load(std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(word).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

int receiveReply(int fd, app_ring_reply& reply, int* fds) {
    iovec iov{&reply, sizeof reply};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 6)];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t got = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (got < 0) return errno;
    if (got != static_cast<ssize_t>(sizeof reply) || reply.magic != APP_RING_MAGIC) return EPROTO;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header != nullptr && header->cmsg_type == SCM_RIGHTS) {
        std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        std::memcpy(fds, CMSG_DATA(header), sizeof(int) * (count < 6 ? count : 6));
        if (count != 6 && reply.error == 0) return EPROTO;
    }
    if (reply.error != 0) return reply.error;
    return fds[5] >= 0 ? 0 : EPROTO;
}

std::uint8_t* mapShared(int fd, std::size_t size, int protection) {
    void* address = ::mmap(nullptr, size, protection, MAP_SHARED, fd, 0);
    return address == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(address);
}

}  // namespace

Result<std::unique_ptr<AppRingClient>> AppRingClient::connect(const std::string& path, const std::string& interface,
                                                              const Options& options) {
    using R = Result<std::unique_ptr<AppRingClient>>;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    app_ring_request request{};
    if (path.size() >= sizeof address.sun_path || interface.size() >= sizeof request.interface) {
        return R::failure(ENAMETOOLONG);
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    std::unique_ptr<AppRingClient> client(new AppRingClient());
    client->socket_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client->socket_ < 0) return R::failure(errno);
    if (::connect(client->socket_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return R::failure(errno);
    request.magic = APP_RING_MAGIC;
    request.version = APP_RING_VERSION;
    std::memcpy(request.interface, interface.c_str(), interface.size() + 1);
    request.mode = options.mode;
    request.min_posted = options.minPosted;
    request.slot_count = options.slotCount;
    if (::send(client->socket_, &request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) {
        return R::failure(errno != 0 ? errno : EPIPE);
    }
    app_ring_reply reply{};
    int fds[6] = {-1, -1, -1, -1, -1, -1};
    int error = receiveReply(client->socket_, reply, fds);
    if (error == 0) error = client->setUp(reply, fds);
    for (int i : {0, 1, 2}) {
        if (fds[i] >= 0) ::close(fds[i]);  // the mappings keep the memory
    }
    if (error != 0) {
        for (int i : {3, 4, 5}) {
            if (fds[i] >= 0 && fds[i] != client->kickFd_ && fds[i] != client->ring1Fd_ && fds[i] != client->ring2Fd_) ::close(fds[i]);
        }
        return R::failure(error);
    }
    return client;
}

int AppRingClient::setUp(const app_ring_reply& reply, const int* fds) {
    kickFd_ = fds[3];
    ring1Fd_ = fds[4];
    ring2Fd_ = fds[5];
    regionSize_ = reply.region_size;
    dataSize_ = reply.data_size;
    metadataSize_ = reply.metadata_size;
    if (regionSize_ < sizeof(app_ring_shared) || reply.app_slot >= APP_RING_MAX_APPS) return EPROTO;
    region_ = mapShared(fds[0], regionSize_, PROT_READ | PROT_WRITE);
    data_ = mapShared(fds[1], dataSize_, PROT_READ | PROT_WRITE);
    metadata_ = mapShared(fds[2], metadataSize_, PROT_READ);
    if (region_ == nullptr || data_ == nullptr || metadata_ == nullptr) return errno;
    header_ = shared()->header;  // a private copy: later scribbles cannot change our bounds
    std::uint32_t n = header_.slot_count;
    std::uint64_t ringEnd = std::uint64_t{header_.ring2_offset} + std::uint64_t{n} * sizeof(app_ring_slot);
    bool sane = header_.magic == APP_RING_MAGIC && n >= 1 && (n & (n - 1)) == 0 && header_.buffer_size > 0 &&
                header_.ring1_offset >= sizeof(app_ring_shared) && header_.ring1_offset % sizeof(std::uint64_t) == 0 &&
                header_.ring1_offset + std::uint64_t{n} * sizeof(app_ring_entry) <= header_.ring2_offset &&
                ringEnd <= regionSize_ && std::uint64_t{header_.buffer_count} * header_.buffer_size <= dataSize_;
    if (!sane) return EPROTO;
    mask_ = n - 1;
    slot_ = reply.app_slot;
    token_ = reply.token;
    shared_ = load(shared()->apps[slot_].consumers_seen, std::memory_order_acquire) != APP_RING_CONSUMERS_SINGLE;
    wasSingle_ = !shared_;
    cachedHead_ = load(shared()->ring1.tail);
    return 0;
}

AppRingClient::~AppRingClient() {
    if (region_ != nullptr) ::munmap(region_, regionSize_);
    if (data_ != nullptr) ::munmap(data_, dataSize_);
    if (metadata_ != nullptr) ::munmap(metadata_, metadataSize_);
    for (int fd : {socket_, kickFd_, ring1Fd_, ring2Fd_}) {
        if (fd >= 0) ::close(fd);
    }
}

std::uint8_t* AppRingClient::buffer(std::uint32_t index) const {
    return index < header_.buffer_count ? data_ + std::uint64_t{index} * header_.buffer_size : nullptr;
}

app_ring_packet AppRingClient::packet(std::uint32_t index, std::uint32_t length) const {
    app_ring_packet packet{};
    packet.index = index;
    packet.length = length;
    packet.offset = static_cast<std::uint16_t>(header_.headroom);
    packet.data = buffer(index) != nullptr ? buffer(index) + header_.headroom : nullptr;
    return packet;
}

std::uint32_t AppRingClient::receivable() const {
    if (!mayRemove()) return 0;
    app_ring_ring1_control& ring1 = shared()->ring1;
    std::uint32_t pending = load(ring1.head, std::memory_order_acquire) - load(ring1.tail, std::memory_order_acquire);
    return pending <= header_.slot_count ? pending : 0;
}

// Switches to shared removal when the framework asks for it (a second application mapped the
// rings): answers with the tail reached as single consumer, then kicks the framework so that it
// records what was removed so far. Shared is for good, whatever the word says later.
bool AppRingClient::followConsumers() {
    if (shared_) return true;
    app_ring_ring1_control& ring1 = shared()->ring1;
    if (load(ring1.consumers, std::memory_order_acquire) == APP_RING_CONSUMERS_SINGLE) return false;
    app_ring_app_entry& entry = shared()->apps[slot_];
    store(entry.switch_tail, load(ring1.tail));
    store(entry.consumers_seen, APP_RING_CONSUMERS_SHARED, std::memory_order_release);
    shared_ = true;
    kick();
    return true;
}

// A client that joined shared rings waits until the single consumer has handed over.
bool AppRingClient::mayRemove() const {
    return !shared_ || wasSingle_ || load(shared()->ring1.shared_ready, std::memory_order_acquire) != 0;
}

// Turns entries into packets, dropping those naming memory outside the pool (or claims). The
// pool's geometry is copied into locals: stores into packets cannot alias it.
struct AppRingClient::Unpacker {
    std::uint8_t* data;
    std::uint32_t count;
    std::uint32_t size;
    std::uint16_t emptyFlag;  // APP_RING_SLOT_EMPTY in non-network mode, else 0

    /// @return 1 when @p packet was filled, 0 for an entry that names no packet.
    unsigned operator()(AppRingEntry entry, app_ring_packet& packet) const {
        std::uint32_t offset = entry.offset(), length = entry.length();
        if (entry.index >= count || entry.claimed() || offset + length > size) return 0;
        packet.index = entry.index;
        packet.length = length;
        packet.offset = static_cast<std::uint16_t>(offset);
        packet.flags = length == 0 ? emptyFlag : 0;
        packet.data = data + std::uint64_t{entry.index} * size + offset;
        return 1;
    }
};

AppRingClient::Unpacker AppRingClient::unpacker() const {
    return Unpacker{data_, header_.buffer_count, header_.buffer_size,
                    static_cast<std::uint16_t>(header_.mode == APP_RING_NON_NETWORK ? APP_RING_SLOT_EMPTY : 0)};
}

unsigned AppRingClient::receive(app_ring_packet* packets, unsigned max) {
    // All loads of a chunk first, then the checks: the cache misses of the loads overlap.
    auto copy = [this, packets](std::uint32_t tail, unsigned n) {
        std::uint64_t* ring = entries();
        std::uint32_t mask = mask_;
        Unpacker take = unpacker();
        unsigned kept = 0;
        for (unsigned done = 0; done < n;) {
            std::uint64_t words[kChunk];
            unsigned chunk = n - done < kChunk ? n - done : kChunk;
            for (unsigned i = 0; i < chunk; ++i) words[i] = std::atomic_ref<std::uint64_t>(ring[(tail + done + i) & mask]).load(std::memory_order_relaxed);
            for (unsigned i = 0; i < chunk; ++i) kept += take(AppRingEntry::fromWord(words[i]), packets[kept]);
            done += chunk;
        }
        return kept;
    };
    return remove(max, copy);
}

unsigned AppRingClient::receiveEntries(app_ring_entry* out, unsigned max) {
    // A plain copy (vectorised, as rte_ring copies pointers) while this client is the single
    // consumer: nobody writes entries between tail and head then. Shared, another application may
    // write its claims over entries we read before our CAS fails: one atomic load each.
    auto copy = [this, out](std::uint32_t tail, unsigned n) {
        std::uint64_t* ring = entries();
        std::uint32_t first = tail & mask_;
        unsigned before = header_.slot_count - first < n ? header_.slot_count - first : n;  // up to the end of the ring
        if (!shared_) {
            std::memcpy(out, ring + first, before * sizeof(app_ring_entry));
            std::memcpy(out + before, ring, (n - before) * sizeof(app_ring_entry));
            return n;
        }
        auto* words = reinterpret_cast<std::uint64_t*>(out);
        for (unsigned i = 0; i < before; ++i) words[i] = std::atomic_ref<std::uint64_t>(ring[first + i]).load(std::memory_order_relaxed);
        for (unsigned i = before; i < n; ++i) words[i] = std::atomic_ref<std::uint64_t>(ring[i - before]).load(std::memory_order_relaxed);
        return n;
    };
    return remove(max, copy);
}

app_ring_packet AppRingClient::packet(const app_ring_entry& entry) const {
    app_ring_packet packet{};  // left empty (data nullptr) when the entry names no packet
    unpacker()(AppRingEntry{entry.index, entry.place}, packet);
    return packet;
}

template <typename Copy> unsigned AppRingClient::remove(unsigned max, Copy copy) {
    if (!followConsumers()) return removeAlone(max, copy);
    if (!mayRemove()) return 0;
    return removeShared(max, copy);
}

// Ring 1 with one consumer: copy the entries out, then store the tail past them. The head is
// read again only when the entries known to be published run short.
template <typename Copy> unsigned AppRingClient::removeAlone(unsigned max, Copy copy) {
    app_ring_ring1_control& ring1 = shared()->ring1;
    std::uint32_t tail = load(ring1.tail);
    std::uint32_t pending = cachedHead_ - tail;
    if (pending < max || pending > header_.slot_count) {
        cachedHead_ = load(ring1.head, std::memory_order_acquire);
        pending = cachedHead_ - tail;
        if (pending > header_.slot_count) {  // scribbled cursors: nothing safe to take
            cachedHead_ = tail;
            return 0;
        }
    }
    unsigned n = pending < max ? pending : max;
    if (n == 0) return 0;
    unsigned kept = copy(tail, n);
    store(ring1.tail, tail + n, std::memory_order_release);
    return delivered(kept, n);
}

// Ring 1 shared: copy the entries out, then CAS the tail past them (another application may
// have taken them meanwhile: then copy again), then write our claim over each (app_ring.h).
template <typename Copy> unsigned AppRingClient::removeShared(unsigned max, Copy copy) {
    app_ring_ring1_control& ring1 = shared()->ring1;
    std::atomic_ref<std::uint32_t> tailRef(ring1.tail);
    std::uint32_t tail = tailRef.load(std::memory_order_acquire);
    unsigned n = 0, kept = 0;
    for (;;) {
        std::uint32_t pending = load(ring1.head, std::memory_order_acquire) - tail;
        if (pending > header_.slot_count) return 0;  // scribbled cursors: nothing safe to take
        n = pending < max ? pending : max;
        if (n == 0) return 0;
        kept = copy(tail, n);
        if (tailRef.compare_exchange_weak(tail, tail + n, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    std::uint64_t* ring = entries();
    AppRingEntry claim = AppRingEntry::claim(token_);
    for (unsigned i = 0; i < n; ++i) claim.store(ring[(tail + i) & mask_], std::memory_order_release);  // claim 10
    return delivered(kept, n);
}

// Counts the entries the Unpacker refused; in non-network mode asks the framework to top ring 1 up again.
unsigned AppRingClient::delivered(unsigned kept, unsigned removed) {
    invalid_ += removed - kept;
    if (header_.mode == APP_RING_NON_NETWORK) kick();
    return kept;
}

unsigned AppRingClient::sendWithoutKick(const app_ring_packet* packets, unsigned count) {
    followConsumers();
    if (count == 0 || count > header_.slot_count) return 0;
    app_ring_control& ring2 = shared()->ring2;
    std::atomic_ref<std::uint32_t> headRef(ring2.head);
    std::uint32_t head = headRef.load(std::memory_order_acquire);
    for (;;) {
        std::uint32_t used = head - load(ring2.tail, std::memory_order_acquire);
        if (used > header_.slot_count || header_.slot_count - used < count) return 0;
        if (headRef.compare_exchange_weak(head, head + count, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    app_ring_slot* ring = slots(header_.ring2_offset);
    for (unsigned i = 0; i < count; ++i) {
        app_ring_slot& slot = ring[(head + i) & mask_];
        store(slot.index, packets[i].index);
        store(slot.length, packets[i].length);
        std::atomic_ref<std::uint16_t>(slot.offset).store(packets[i].offset, std::memory_order_relaxed);
        std::atomic_ref<std::uint16_t>(slot.flags).store(packets[i].flags & APP_RING_SLOT_DROP, std::memory_order_relaxed);
        store(slot.owner, token_, std::memory_order_release);  // publishes the slot
    }
    return count;
}

void AppRingClient::kick() {
    std::uint64_t one = 1;
    ssize_t written = ::write(kickFd_, &one, sizeof one);
    (void)written;
}

unsigned AppRingClient::send(const app_ring_packet* packets, unsigned count) {
    unsigned sent = sendWithoutKick(packets, count);
    if (sent > 0) kick();
    return sent;
}

void AppRingClient::armReceive() {
    followConsumers();
    store(shared()->apps[slot_].wait_ring1, 1);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void AppRingClient::armSend() {
    followConsumers();
    store(shared()->apps[slot_].wait_ring2, 1);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool AppRingClient::ring1Ready(unsigned) const { return receivable() > 0; }

bool AppRingClient::ring2Ready(unsigned count) const {
    app_ring_control& ring2 = shared()->ring2;
    std::uint32_t used = load(ring2.head, std::memory_order_acquire) - load(ring2.tail, std::memory_order_acquire);
    return used <= header_.slot_count && header_.slot_count - used >= count;
}

int AppRingClient::wait(int fd, std::uint32_t& flag, bool (AppRingClient::*ready)(unsigned) const, unsigned count,
                        std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        followConsumers();  // woken to hand ring 1 over to shared removal: answer now
        if ((this->*ready)(count)) return 0;
        store(flag, 1);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // flag before re-check (see AppRing::wake)
        if ((this->*ready)(count)) return 0;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return ETIMEDOUT;
        pollfd descriptor{fd, POLLIN, 0};
        int ready_ = ::poll(&descriptor, 1, static_cast<int>(left.count()));
        if (ready_ < 0 && errno != EINTR) return errno;
        std::uint64_t counter;
        ssize_t got = ::read(fd, &counter, sizeof counter);
        (void)got;
    }
}

int AppRingClient::waitReceive(std::chrono::milliseconds timeout) {
    return wait(ring1Fd_, shared()->apps[slot_].wait_ring1, &AppRingClient::ring1Ready, 1, timeout);
}

int AppRingClient::waitSend(std::chrono::milliseconds timeout, unsigned count) {
    return wait(ring2Fd_, shared()->apps[slot_].wait_ring2, &AppRingClient::ring2Ready, count, timeout);
}

}  // namespace nexnet
