#include "sio/core/Mode.h"

#include "sio/sio.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <liburing.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

int readSysctl(const char* path) {
    FILE* file = std::fopen(path, "r");
    if (file == nullptr) return -1;
    int value = -1;
    if (std::fscanf(file, "%d", &value) != 1) value = -1;
    std::fclose(file);
    return value;
}

std::string kernelRelease() {
    utsname name{};
    return uname(&name) == 0 ? name.release : "unknown";
}

// Arms a multishot recvmsg selecting from a provided-buffer ring on one end of a datagram
// socketpair, sends one datagram from the other end, and checks the completion: the
// features io_uring mode stands on, tried rather than inferred from version numbers.
void probeReceive(io_uring& ring, UringFeatures& features) {
    constexpr unsigned kEntries = 8;
    constexpr unsigned kBufferSize = 256;
    std::size_t ringBytes = kEntries * sizeof(io_uring_buf);
    void* memory =
        mmap(nullptr, ringBytes + kEntries * kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return;
    auto* bufferRing = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(bufferRing);
    reg.ring_entries = kEntries;
    reg.bgid = 0;
    if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
        features.bufferRings = true;
        io_uring_buf_ring_init(bufferRing);
        auto* buffers = static_cast<char*>(memory) + ringBytes;
        for (unsigned i = 0; i < kEntries; ++i)
            io_uring_buf_ring_add(bufferRing, buffers + i * kBufferSize, kBufferSize, static_cast<unsigned short>(i),
                                  io_uring_buf_ring_mask(kEntries), static_cast<int>(i));
        io_uring_buf_ring_advance(bufferRing, kEntries);
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) == 0) {
            msghdr header{};
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            io_uring_prep_recvmsg_multishot(sqe, pair[0], &header, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = 0;
            io_uring_submit(&ring);
            [[maybe_unused]] ssize_t sent = send(pair[1], "probe", 5, 0);
            io_uring_cqe* cqe = nullptr;
            __kernel_timespec timeout{1, 0};
            if (io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) == 0) {
                features.multishotReceive = cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE) != 0;
                io_uring_cqe_seen(&ring, cqe);
            }
            close(pair[0]);  // ends the multishot request
            close(pair[1]);
            sqe = io_uring_get_sqe(&ring);
            io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
            io_uring_submit_and_wait(&ring, 1);
        }
        io_uring_unregister_buf_ring(&ring, 0);
    }
    munmap(memory, ringBytes + kEntries * kBufferSize);
}

// Sends one byte with SEND_ZC asking for the usage report (Linux 6.2); an older kernel refuses
// the flag with EINVAL.
bool probeZeroCopyReport(io_uring& ring) {
    int receiver = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    bool supported = false;
    if (receiver >= 0 && sender >= 0 && bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(receiver, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
        connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        static char byte = 'p';
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_send_zc(sqe, sender, &byte, 1, 0, 1u << 3 /* IORING_SEND_ZC_REPORT_USAGE */);
        io_uring_submit(&ring);
        for (int completions = 0; completions < 2; ++completions) {
            io_uring_cqe* cqe = nullptr;
            __kernel_timespec timeout{1, 0};
            if (io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) != 0) break;
            bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
            if (!(cqe->flags & IORING_CQE_F_NOTIF)) supported = cqe->res == 1;
            io_uring_cqe_seen(&ring, cqe);
            if (!more && completions == 0) break;  // no notification follows
        }
    }
    if (receiver >= 0) close(receiver);
    if (sender >= 0) close(sender);
    return supported;
}

}  // namespace

Mode& Mode::instance() {
    static Mode* mode = new Mode();
    return *mode;
}

void Mode::probeOnce() {
    if (probed_) return;
    probed_ = true;
    io_uring ring;
    int error = -io_uring_queue_init(8, &ring, 0);
    features_.setupError = error;
    if (error == 0) {
        features_.available = true;
        if (io_uring_probe* probe = io_uring_get_probe_ring(&ring)) {
            features_.sendZeroCopy = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC) &&
                io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
            io_uring_free_probe(probe);
        }
        probeReceive(ring, features_);
        if (features_.sendZeroCopy) features_.zeroCopyReport = probeZeroCopyReport(ring);
        io_uring_queue_exit(&ring);
    }

    std::string kernel = "Linux " + kernelRelease();
    if (!features_.available) {
        int disabled = readSysctl("/proc/sys/kernel/io_uring_disabled");
        if (disabled == 2) uringMissing_ = "io_uring is disabled (sysctl kernel.io_uring_disabled=2)";
        else if (error == EPERM && disabled == 1)
            uringMissing_ = "io_uring is limited to the group in kernel.io_uring_group (kernel.io_uring_disabled=1)";
        else if (error == EPERM || error == ENOSYS)
            uringMissing_ = std::string("io_uring_setup failed with ") + (error == EPERM ? "EPERM" : "ENOSYS") +
                " (a seccomp profile, e.g. a container's, forbids it; or " + kernel + " lacks it)";
        else uringMissing_ = std::string("io_uring_setup failed: ") + std::strerror(error);
    } else if (!features_.bufferRings) {
        uringMissing_ = kernel + " has io_uring but no provided-buffer rings (Linux 5.19)";
    } else if (!features_.multishotReceive) {
        uringMissing_ = kernel + " has io_uring but no multishot receive (Linux 6.0)";
    }

    const char* forced = std::getenv("NEXNET_SIO_MODE");
    if (forced != nullptr && std::strcmp(forced, "epoll") == 0) {
        mode_ = SIO_MODE_EPOLL;
        message_ =
            "epoll mode (NEXNET_SIO_MODE=epoll): kernel sockets use epoll with recvmmsg/sendmmsg batches; "
            "receives copy into the associated memory, sends copy";
    } else if (!uringMissing_.empty()) {
        mode_ = SIO_MODE_EPOLL;
        message_ = "epoll mode: " + uringMissing_ +
            "; kernel sockets use epoll with recvmmsg/sendmmsg batches instead, sends copy and "
            "MSG_ZEROCOPY fails with ENOTSUP";
    } else {
        mode_ = SIO_MODE_URING;
        message_ = "io_uring mode (" + kernel + "): provided-buffer rings, multishot receive, registered buffers, " +
            (features_.sendZeroCopy ? std::string("zero-copy send (SEND_ZC)")
                                    : std::string("no SEND_ZC: sends copy and MSG_ZEROCOPY fails with ENOTSUP"));
    }
}

int Mode::current() {
    std::lock_guard<std::mutex> lock(mutex_);
    probeOnce();
    return mode_;
}

std::string Mode::message() {
    std::lock_guard<std::mutex> lock(mutex_);
    probeOnce();
    return message_;
}

const UringFeatures& Mode::features() {
    std::lock_guard<std::mutex> lock(mutex_);
    probeOnce();
    return features_;
}

std::string Mode::uringMissing() {
    std::lock_guard<std::mutex> lock(mutex_);
    probeOnce();
    return uringMissing_;
}

int Mode::set(int mode, std::size_t socketsInUse) {
    std::lock_guard<std::mutex> lock(mutex_);
    probeOnce();
    if (mode != SIO_MODE_URING && mode != SIO_MODE_EPOLL) return EINVAL;
    if (socketsInUse > 0 && mode != mode_) return EBUSY;
    if (mode == SIO_MODE_URING && !uringMissing_.empty()) return ENOTSUP;
    if (mode == mode_) return 0;
    mode_ = mode;
    if (mode == SIO_MODE_EPOLL)
        message_ =
            "epoll mode (chosen with sio_set_mode): kernel sockets use epoll with recvmmsg/sendmmsg "
            "batches; receives copy into the associated memory, sends copy";
    else
        message_ =
            "io_uring mode (chosen with sio_set_mode): provided-buffer rings, multishot receive, registered "
            "buffers" +
            std::string(features_.sendZeroCopy ? ", zero-copy send (SEND_ZC)" : "; no SEND_ZC");
    return 0;
}

}  // namespace nexnet::sio
