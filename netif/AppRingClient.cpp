#include "netif/AppRingClient.h"

#include "netif/AppRingEntry.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace nexnet {

namespace {

std::uint32_t load(const std::uint32_t& word, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(word)).load(order);
}
void store(std::uint32_t& word, std::uint32_t value, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<std::uint32_t>(word).store(value, order);
}

int receiveReply(int fd, app_ring_reply& reply, int* fds) {
    iovec iov{&reply, sizeof reply};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * APP_RING_REPLY_FDS)];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t got = ::recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (got < 0) return errno;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
        std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        std::memcpy(fds, CMSG_DATA(header), sizeof(int) * (count < APP_RING_REPLY_FDS ? count : APP_RING_REPLY_FDS));
        if (count != APP_RING_REPLY_FDS && reply.error == 0) return EPROTO;
    }
    if (got != static_cast<ssize_t>(sizeof reply) || reply.magic != APP_RING_MAGIC) return EPROTO;
    if (reply.error != 0) return reply.error;
    return fds[APP_RING_REPLY_FDS - 1] >= 0 ? 0 : EPROTO;
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
    int socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (socket < 0) return R::failure(errno);
    if (::connect(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int error = errno;
        ::close(socket);
        return R::failure(error);
    }
    request.magic = APP_RING_MAGIC;
    request.version = APP_RING_VERSION;
    std::memcpy(request.interface, interface.c_str(), interface.size() + 1);
    request.mode = options.mode;
    request.min_posted = options.minPosted;
    request.slot_count = options.slotCount;
    request.flags = options.privateRings ? APP_RING_PRIVATE : 0;
    app_ring_reply reply{};
    int fds[APP_RING_REPLY_FDS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    int error =
        ::send(socket, &request, sizeof request, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof request) ? 0 : EPIPE;
    if (error == 0) error = receiveReply(socket, reply, fds);
    if (error != 0) {
        for (int fd : fds) {
            if (fd >= 0) ::close(fd);
        }
        ::close(socket);
        return R::failure(error);
    }
    return adopt(socket, reply, fds);
}

Result<std::unique_ptr<AppRingClient>> AppRingClient::adopt(int socket, const app_ring_reply& reply, const int* fds) {
    using R = Result<std::unique_ptr<AppRingClient>>;
    std::unique_ptr<AppRingClient> client(new AppRingClient());
    client->socket_ = socket;
    std::memcpy(client->fds_, fds, sizeof client->fds_);
    if (int error = client->setUp(reply); error != 0) return R::failure(error);
    return client;
}

int AppRingClient::setUp(const app_ring_reply& reply) {
    kickFd_ = fds_[5];
    ring1Fd_ = fds_[6];
    ring2Fd_ = fds_[7];
    if (reply.token == 0 || reply.token > 0xffff) return EPROTO;
    // Sizes from the descriptors themselves: mapping past the end of a memfd would fault on use.
    const int protections[5] = {PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
                                PROT_READ};
    for (int i = 0; i < 5; ++i) {
        struct stat status {};
        if (fds_[i] < 0 || ::fstat(fds_[i], &status) != 0) return fds_[i] < 0 ? EPROTO : errno;
        if (status.st_size <= 0) return EPROTO;
        void* address =
            ::mmap(nullptr, static_cast<std::size_t>(status.st_size), protections[i], MAP_SHARED, fds_[i], 0);
        if (address == MAP_FAILED) return errno;
        mappings_[i] = Mapping{static_cast<std::uint8_t*>(address), static_cast<std::size_t>(status.st_size)};
        ::close(fds_[i]);  // the mapping keeps the memory
        fds_[i] = -1;
    }
    posted_ = mappings_[0].address;
    taken_ = mappings_[1].address;
    app_ = mappings_[2].address;
    data_ = mappings_[3].address;
    metadata_ = mappings_[4].address;
    if (mappings_[0].size < sizeof(app_ring_posted)) return EPROTO;
    header_ = posted()->header;  // a private copy: later scribbles cannot change our bounds
    if (!headerFits()) return EPROTO;
    mask_ = header_.slot_count - 1;
    token_ = reply.token;
    head2_ = load(application()->head);
    if (load(posted()->consumers, std::memory_order_acquire) == APP_RING_CONSUMERS_SINGLE) {
        tail_ = load(taken()->single_tail, std::memory_order_acquire);
        cachedHead_ = tail_;
    } else {
        removal_ = Removal::shared;
        sharedFrom_ = load(posted()->shared_from);
    }
    return 0;
}

// The header describes regions that fit the mappings: nothing read through it leaves them.
bool AppRingClient::headerFits() const {
    std::uint64_t n = header_.slot_count;
    auto fits = [n](std::uint64_t offset, std::uint64_t minimum, std::uint64_t unit, std::uint64_t size) {
        return offset >= minimum && offset % unit == 0 && offset + n * unit <= size;
    };
    return header_.magic == APP_RING_MAGIC && header_.version == APP_RING_VERSION && n >= 1 && n <= 65536 &&
        (n & (n - 1)) == 0 && header_.buffer_size > 0 &&
        fits(header_.entries_offset, sizeof(app_ring_posted), sizeof(app_ring_entry), mappings_[0].size) &&
        fits(header_.claims_offset, sizeof(app_ring_taken), sizeof(app_ring_claim), mappings_[1].size) &&
        fits(header_.slots_offset, sizeof(app_ring_app), sizeof(app_ring_slot), mappings_[2].size) &&
        std::uint64_t{header_.buffer_count} * header_.buffer_size <= mappings_[3].size;
}

AppRingClient::~AppRingClient() {
    for (const Mapping& mapping : mappings_) {
        if (mapping.address != nullptr) ::munmap(mapping.address, mapping.size);
    }
    for (int fd : fds_) {
        if (fd >= 0) ::close(fd);
    }
    if (socket_ >= 0) ::close(socket_);
}

std::uint8_t* AppRingClient::buffer(std::uint32_t index) const {
    return index < header_.buffer_count ? data_ + std::uint64_t{index} * header_.buffer_size : nullptr;
}

app_ring_packet AppRingClient::packet(std::uint32_t index, std::uint32_t length) const {
    app_ring_packet packet{};
    packet.index = index;
    packet.length = length;
    packet.offset = static_cast<std::uint16_t>(header_.headroom);
    packet.data =
        buffer(index) != nullptr && header_.headroom < header_.buffer_size ? buffer(index) + header_.headroom : nullptr;
    return packet;
}

unsigned AppRingClient::sendWithoutKick(const app_ring_packet* packets, unsigned count) {
    if (count == 0 || count > header_.slot_count) return 0;
    std::uint32_t used = head2_ - load(application()->tail, std::memory_order_acquire);
    if (used > header_.slot_count || header_.slot_count - used < count) return 0;
    app_ring_slot* ring = slots();
    for (unsigned i = 0; i < count; ++i) {
        app_ring_slot& slot = ring[(head2_ + i) & mask_];
        slot.index = packets[i].index;
        slot.length = packets[i].length;
        slot.offset = packets[i].offset;
        slot.flags = packets[i].flags & APP_RING_SLOT_DROP;
        slot.reserved = 0;
    }
    head2_ += count;
    store(application()->head, head2_, std::memory_order_release);  // publishes the slots
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
    store(application()->wait_ring1, 1);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void AppRingClient::armSend() {
    store(application()->wait_ring2, 1);
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool AppRingClient::ring1Ready(unsigned) const { return receivable() > 0; }

bool AppRingClient::ring2Ready(unsigned count) const {
    std::uint32_t used = head2_ - load(application()->tail, std::memory_order_acquire);
    return used <= header_.slot_count && header_.slot_count - used >= count;
}

int AppRingClient::wait(int fd, std::uint32_t& flag, bool (AppRingClient::*ready)(unsigned) const, unsigned count,
                        std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if ((this->*ready)(count)) return 0;
        store(flag, 1);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // flag before re-check (see AppRing::wake)
        if ((this->*ready)(count)) return 0;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return ETIMEDOUT;
        // The connection too: the framework never writes to it after its reply, so anything there
        // (end of file, an error) means it ended or dropped us.
        pollfd descriptors[2] = {{fd, POLLIN, 0}, {socket_, POLLIN, 0}};
        int polled = ::poll(descriptors, 2, static_cast<int>(left.count() < 1000000 ? left.count() : 1000000));
        if (polled < 0 && errno != EINTR) return errno;
        if (polled > 0 && descriptors[1].revents != 0) return EPIPE;
        std::uint64_t counter;
        ssize_t got = ::read(fd, &counter, sizeof counter);
        (void)got;
    }
}

int AppRingClient::waitReceive(std::chrono::milliseconds timeout) {
    return wait(ring1Fd_, application()->wait_ring1, &AppRingClient::ring1Ready, 1, timeout);
}

int AppRingClient::waitSend(std::chrono::milliseconds timeout, unsigned count) {
    return wait(ring2Fd_, application()->wait_ring2, &AppRingClient::ring2Ready, count, timeout);
}

}  // namespace nexnet
