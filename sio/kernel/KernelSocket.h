#pragma once
/// @file KernelSocket.h
/// @brief KernelSocket: what the io_uring and epoll transports share for one kernel socket:
/// associated memories, the receive buffer layout, the backlog of filled buffers, and the
/// pre-posted aio receives they are matched with, in order.

#include "sio/SioSocket.h"
#include "sio/core/AioQueue.h"
#include "sio/core/AioRequest.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <liburing.h>  // before any <linux/io_uring.h>: see UringSocket.cpp
#include <mutex>
#include <vector>

namespace nexnet::sio {

class Channel;
class Memory;

/// The transport-independent half of a kernel socket used with the sio/aio calls.
///
/// **Receive buffers.** Each associated memory (up to kMaxAssociations) lends units to the
/// socket as receive buffers, named by a buffer id: association i's units are ids
/// [base_i, base_i + units_i), so an id says which memory and unit without a lookup table
/// (at most 65536 ids: io_uring's buffer ids are 16 bits). A datagram buffer is laid out as
/// io_uring's multishot recvmsg writes it, and the epoll transport writes the same:
///
///     unit: | io_uring_recvmsg_out (16) | name (nameRoom) | control (controlRoom) | payload ...
///
/// (stream sockets: payload from byte 0). For IPv4/IPv6 the rooms are 32 and 80 bytes, so the
/// payload starts 128 bytes in, cache-line aligned; UNIX sockets keep 112 for a path name.
///
/// **Backlog.** Filled buffers the transport collected wait in arrival order in the backlog
/// until a receive takes them: a sio_recv call, or the oldest pre-posted aio receive (so
/// receives complete in posting order, and data the kernel delivered before anyone asked is
/// handed out without a system call, as the paper suggests). Everything on the receive side is
/// guarded by receiveLock_.
class KernelSocket : public SioSocket {
public:
    /// Associations per socket.
    static constexpr unsigned kMaxAssociations = 16;
    /// Buffer ids per socket (io_uring's are 16-bit).
    static constexpr unsigned kMaxBufferIds = 65536;
    /// State for socket @p fd of type @p type (SOCK_DGRAM, SOCK_STREAM, SOCK_SEQPACKET) and
    /// address family @p family (the room kept for the sender's address depends on it).
    KernelSocket(int fd, int type, int family);
    ~KernelSocket() override;
    /// Kernel sockets in use with the sio calls now (io_uring or epoll): what the mode depends on.
    /// A nexnet endpoint is none: sio_set_mode may switch while one is open.
    static std::size_t inUse() { return live_.load(std::memory_order_acquire); }

    int associate(Memory& memory, unsigned flags) override;
    int disassociate(Memory& memory) override;
    bool recycle(Memory& memory, std::size_t unit) override;
    ssize_t receive(SioReceived& out, std::size_t size, int flags) override;
    int cancel(sio_aiocb* request) override;

protected:
    /// One associated memory.
    struct Association {
        Memory* memory = nullptr;       ///< valid while associated (dma_free refuses meanwhile)
        std::uintptr_t handle = 0;      ///< the memory's handle
        std::uint8_t* start = nullptr;  ///< the memory's first byte (for lock-free range checks)
        std::size_t bytes = 0;          ///< the bytes its units span
        int slot = -1;                  ///< the association's slot in the memory
        unsigned base = 0;              ///< first buffer id
        unsigned units = 0;             ///< buffer ids it spans
        bool receive = false;           ///< lends receive buffers
        bool retiring = false;          ///< disassociated; its filled buffers are still read
        int fixedIndex = -1;            ///< io_uring registered-buffer index, -1 when none
    };
    /// A filled buffer (or an error, or the end of a stream) waiting in the backlog.
    struct Filled {
        std::uint32_t id = 0;        ///< buffer id
        std::uint32_t bytes = 0;     ///< bytes the kernel wrote into it (header included)
        std::uint32_t consumed = 0;  ///< stream: payload bytes handed out already
        int error = 0;               ///< an errno instead of data
        bool end = false;            ///< end of stream
    };

    /// True for SOCK_STREAM.
    bool stream() const { return stream_; }
    /// Where the payload starts in a buffer.
    std::size_t payloadOffset() const { return stream_ ? 0 : sizeof(io_uring_recvmsg_out) + nameRoom_ + controlRoom_; }
    /// Room for the sender's address in a datagram buffer.
    unsigned nameRoom() const { return nameRoom_; }
    /// Room for control messages in a datagram buffer.
    unsigned controlRoom() const { return controlRoom_; }
    /// The association holding buffer @p id (under receiveLock_), or nullptr.
    Association* associationOfId(std::uint32_t id);
    /// The start of buffer @p id.
    std::uint8_t* bufferOf(std::uint32_t id);
    /// Buffer size (the unit of its memory).
    std::size_t bufferSize(std::uint32_t id);
    /// The id of unit @p unit of @p memory, or -1 when it is not a receive buffer here.
    long idOf(const Memory& memory, std::size_t unit);

    /// Under receiveLock_: @p id was filled with @p bytes (or failed): into the backlog.
    void pushFilled(const Filled& filled);
    /// Under receiveLock_: filled buffers (or an error, or a stream's end) wait in the backlog.
    bool backlogged() const { return backlogCount_ > 0; }
    /// Under receiveLock_: hands filled buffers to pending aio receives, in order, while their
    /// channels have room. @p channelThread: the channel whose thread runs this, or nullptr.
    void matchReceives(Channel* channelThread);
    /// Under receiveLock_: the pending aio receives list is not empty.
    bool receivesPending() const { return !pending_.empty(); }
    /// Under receiveLock_: queues an aio receive. Returns at once after matching it with the
    /// backlog when it has data.
    void queueReceive(sio_aiocb& request, Channel* channelThread);
    /// Finishes every pending aio receive with ECANCELED (sio_close).
    void cancelReceives();
    /// sio_close, once the kernel holds none of the socket's buffers (stopReceiving): buffers
    /// in the backlog and posted ones go back to their memories, every association ends.
    /// Under receiveLock_.
    void dropEverything();

    /// Ids of receive buffers to lend from association @p index (half its memory's free units,
    /// taken from the memory now). Under receiveLock_.
    std::size_t takeBuffers(unsigned index, std::vector<std::uint32_t>& ids);

    /// Association slot @p index changed (registered or unregistered with the kernel: io_uring
    /// registers it as a fixed buffer). Under receiveLock_. Default: nothing.
    virtual void associationChanged(unsigned index) { (void)index; }
    /// The transport gives buffer @p id to the kernel (or its free list). Under receiveLock_.
    virtual void lend(std::uint32_t id) = 0;
    /// The transport stops the kernel filling buffers, collects what was filled into the
    /// backlog, and forgets the buffers it was lent (each then returned with unlend). Under
    /// receiveLock_. Called before associations change.
    virtual void stopReceiving() = 0;
    /// The transport resumes after associations changed (lend() was called for every buffer
    /// it should hold). Under receiveLock_.
    virtual void resumeReceiving() = 0;
    /// Moves what the kernel filled into the backlog; when @p wait, first waits (without
    /// receiveLock_, which is released and retaken through @p lock) for something to arrive.
    /// @return 0, or an errno (EAGAIN: nothing and must not wait; EINTR).
    virtual int collect(std::unique_lock<std::mutex>& lock, bool wait) = 0;

    /// Checks that every vector of @p message lies in one of the program's buffers of memory
    /// associated with the socket (what a DMA send may send from). @return 0 or -1 (EINVAL).
    int checkSendBuffers(const msghdr& message);
    /// The message an aio send request describes (aio_msg, or aio_buf/aio_nbytes and the
    /// sendto address, pointing @p single at the buffer).
    static msghdr messageOf(sio_aiocb& request, iovec& single);
    /// aio_cancel's answer from its parts: @p received what the receive side said, @p sends
    /// whether queued sends were cancelled, @p running whether a matching send is in the kernel.
    static int combineCancel(const sio_aiocb* request, int received, bool sends, bool running) {
        if (request == nullptr) {
            if (running) return AIO_NOTCANCELED;
            return sends || received == AIO_CANCELED ? AIO_CANCELED : AIO_ALLDONE;
        }
        if (sends) return AIO_CANCELED;
        return running ? AIO_NOTCANCELED : received;
    }
    /// Looks up the association whose memory holds the @p length bytes at @p p (any thread).
    /// @return its index, or -1 with errno and message set.
    int findSendMemory(const void* p, std::size_t length);
    /// Association @p index (read without receiveLock_ only for send-side fields).
    const Association& association(int index) const { return associations_[static_cast<unsigned>(index)]; }
    /// The non-blocking flag of the descriptor or @p flags (MSG_DONTWAIT).
    bool nonBlocking(int flags) const;

    /// Guards the receive side: backlog, pending receives, lending, associations' changes.
    std::mutex receiveLock_;
    /// sio_close began (set under receiveLock_): new requests are refused.
    bool closing_ = false;

private:
    /// What takePortion took: the buffer it came from, and whether it goes back to the pool
    /// once its data is copied out.
    struct Portion {
        std::size_t length = 0;
        Memory* memory = nullptr;
        std::size_t unit = 0;
        std::uint32_t id = 0;
        bool giveBack = false;
    };
    ssize_t takeFilled(SioReceived& out, std::size_t size);
    Portion takePortion(SioReceived& out, std::size_t size, bool toProgram);
    void giveBack(const Portion& portion);
    void deliverTo(sio_aiocb& request, Channel* channelThread);
    Filled& frontFilled() { return backlog_[backlogHead_]; }
    void popFilled();
    void retireDrained();
    bool backlogReferences(unsigned index) const;
    int freeRange(unsigned units) const;

    bool stream_;
    unsigned nameRoom_;
    unsigned controlRoom_;
    std::mutex associationsLock_;  // changes of associations_ (also under receiveLock_)
    std::array<Association, kMaxAssociations> associations_{};
    std::array<std::atomic<bool>, kMaxAssociations> active_{};
    unsigned nextBase_ = 0;
    std::vector<Filled> backlog_;  // ring
    std::size_t backlogHead_ = 0, backlogCount_ = 0;
    AioQueue pending_;  // pre-posted aio receives, oldest first

private:
    static inline std::atomic<std::size_t> live_{0};
};

}  // namespace nexnet::sio
