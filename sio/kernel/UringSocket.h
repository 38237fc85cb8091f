#pragma once
/// @file UringSocket.h
/// @brief UringSocket: a kernel socket served through io_uring (provided-buffer ring,
/// multishot receive, registered buffers, SEND_ZC).

#include "sio/kernel/KernelSocket.h"
#include "sio/kernel/UringQueue.h"

#include <array>
#include <memory>
#include <vector>

namespace nexnet::sio {

/// A kernel socket in io_uring mode. Two rings per socket, so a thread receiving and one
/// sending never wait for each other:
///
/// - the **receive ring** holds one multishot receive (recvmsg for datagrams, so the sender's
///   address comes along; recv for streams) that selects buffers from a provided-buffer ring
///   (IORING_REGISTER_PBUF_RING) filled with the socket's receive buffers: the kernel chooses
///   the buffer, as the paper wants, and each completion names it. A completion read from the
///   ring (no system call) becomes a backlog entry. The multishot request stops when the
///   buffers run out (ENOBUFS) and is armed again when some come back; it is armed by the
///   thread that finds it stopped, and io_uring makes its completions in that thread's task
///   work (interrupting it if needed), so any thread may wait for them.
/// - the **send ring** carries sends that are not plain copies: zero-copy sends
///   (IORING_OP_SEND_ZC from the associated memory, registered as fixed buffers; SENDMSG_ZC
///   for several vectors) and aio sends. A zero-copy send has two completions: its result, and
///   later the notification that the kernel let go of the buffer (Memory::endSend). Each send
///   in flight holds one of kSendSlots slots, named in its user_data.
///
/// Small synchronous sends (under sio_zerocopy_threshold) are plain sendmsg(2) calls: a copy
/// costs less than pinning and notification at that size.
class UringSocket : public KernelSocket {
public:
    /// Sends in flight per socket.
    static constexpr unsigned kSendSlots = 256;
    /// Vectors of one zero-copy sendmsg (more: the send copies).
    static constexpr unsigned kMaxVectors = 8;

    /// State for socket @p fd (@p type, @p family as KernelSocket).
    UringSocket(int fd, int type, int family);
    ~UringSocket() override;

    /// sio_zerocopy_stats: zero-copy sends of the process, and those the kernel copied.
    static void zeroCopyStatistics(unsigned long long* sent, unsigned long long* copied);

    ssize_t send(const msghdr& message, int flags) override;
    int submit(sio_aiocb& request) override;
    int cancel(sio_aiocb* request) override;
    void progress(bool wait) override;
    void shutDown() override;
    void deliver(Channel& channel) override;
    int eventDescriptor(bool send) const override {
        return send ? (sendRing_.ready() ? sendRing_.fd() : -1) : (receiveRing_.ready() ? receiveRing_.fd() : -1);
    }

protected:
    void associationChanged(unsigned index) override;
    void lend(std::uint32_t id) override;
    void stopReceiving() override;
    void resumeReceiving() override;
    int collect(std::unique_lock<std::mutex>& lock, bool wait) override;

private:
    struct SendSlot {
        sio_aiocb* request = nullptr;  // aio send, or nullptr for a synchronous one
        ssize_t result = 0;
        bool inUse = false;
        bool done = false;
        bool waiterHolds = false;    // a synchronous sender has not read the result yet
        bool notifyPending = false;  // a zero-copy notification is still to come
        unsigned buffers = 0;
        std::array<Memory*, kMaxVectors> memories{};
        std::array<std::uint32_t, kMaxVectors> units{};
        msghdr header{};
        std::array<iovec, kMaxVectors> vectors{};
    };

    int setUpReceiving();
    void arm();
    void drainReceives();
    int setUpSending();
    int acquireSlot(std::unique_lock<std::mutex>& lock, bool wait);
    void releaseSlot(unsigned index);
    void drainSends(Channel* channelThread);
    void endSends(SendSlot& slot);
    int startSend(unsigned index, const msghdr& message, int flags, bool zeroCopy, const int* fixedIndexes);
    int startAioSend(sio_aiocb& request);
    void startQueuedStreamSend();

    // Receive side (receiveLock_).
    UringQueue receiveRing_;
    io_uring_buf_ring* bufferRing_ = nullptr;
    std::size_t bufferRingBytes_ = 0;
    unsigned bufferRingEntries_ = 0;
    unsigned lentInRing_ = 0;
    std::vector<std::uint32_t> waitingLends_;  // lent while stopped
    bool stopped_ = false;
    bool armed_ = false;
    msghdr receiveHeader_{};

    // Send side (sendRing_.completionLock()).
    UringQueue sendRing_;
    std::unique_ptr<SendSlot[]> slots_;
    std::vector<unsigned> freeSlots_;
    AioQueue streamQueue_;  // aio sends of a stream socket waiting for the one in flight
    bool streamSendInFlight_ = false;
    std::array<int, kMaxAssociations> fixedIndexes_{};
};

}  // namespace nexnet::sio
