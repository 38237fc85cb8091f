#pragma once
/// @file ArpCache.h
/// @brief ArpCache: the neighbour table of one interface (RFC 826), with resolution state,
/// bounded queues of packets waiting for an answer, and ageing.

#include "framework/EthernetAddress.h"
#include "netbuf/NetbufQueue.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <vector>

namespace nexnet {

class Netbuf;

/// IPv4 address to Ethernet address, for one interface.
///
/// Made once with a fixed capacity (no allocation afterwards): an open-addressed index over a
/// table of entries. An address being resolved holds up to Options::pendingPerAddress packets
/// (a NetbufQueue, no allocation); more are refused for the caller to drop and count. expire()
/// drives retries and ageing: it asks for a request to be sent every retryInterval, gives up
/// after `retries` requests (freeing what waited), and forgets reachable entries after
/// reachableTime so a changed neighbour is asked again.
///
/// Times are nanoseconds of a monotonic clock given by the caller (InetStack's clock), so tests
/// can drive ageing without sleeping. Used on the interface's thread only; entries() is the way
/// to read the table from anywhere else (copy taken on that thread).
class ArpCache {
public:
    /// Sizes and times.
    struct Options {
        unsigned capacity = 256;                         ///< Most neighbours kept.
        unsigned pendingPerAddress = 16;                 ///< Packets waiting per address.
        unsigned retries = 3;                            ///< Requests sent before giving up.
        std::chrono::milliseconds retryInterval{1000};   ///< Between two requests.
        std::chrono::milliseconds reachableTime{60000};  ///< A learned entry is kept this long.
    };
    /// What an entry is.
    enum class State : std::uint8_t {
        incomplete,  ///< Asked, no answer yet: packets may wait.
        reachable,   ///< Known; ages out after reachableTime.
        permanent,   ///< Set by addPermanent: never ages.
    };
    /// One neighbour, as entries() reports it.
    struct Entry {
        in_addr address{};                ///< IPv4 address, network order.
        EthernetAddress mac;              ///< Its Ethernet address (zero while incomplete).
        State state = State::incomplete;  ///< Resolution state.
        std::uint64_t updated = 0;        ///< When learned, or when last asked (ns, the caller's clock).
        unsigned requests = 0;            ///< Requests sent while incomplete.
        unsigned pending = 0;             ///< Packets waiting for it.
    };
    /// What wait() did with a packet.
    enum class Wait : std::uint8_t {
        sendRequest,  ///< Queued, and the address is new: send a request now.
        queued,       ///< Queued behind a request already sent.
        full,         ///< Not queued: the address has pendingPerAddress waiting (caller drops it).
        tableFull,    ///< Not queued: every entry is waiting for an answer (caller drops it).
    };

    /// A table sized by @p options.
    explicit ArpCache(const Options& options);
    /// Frees the packets still waiting.
    ~ArpCache();
    ArpCache(const ArpCache&) = delete;
    ArpCache& operator=(const ArpCache&) = delete;

    /// The Ethernet address of @p address when known and not aged at @p now, else nullptr.
    const EthernetAddress* lookup(in_addr address, std::uint64_t now) const;
    /// Records that @p address is at @p mac (an ARP packet seen, RFC 826 "merge"): updates an
    /// existing entry, or makes one when @p create (the packet was for us). A full table drops
    /// its oldest reachable entry; permanent entries are not changed. @return true when the
    /// entry now holds @p mac: packets that waited for it are ready for takePending().
    bool learn(in_addr address, const EthernetAddress& mac, std::uint64_t now, bool create);
    /// Adds a permanent entry (never ages, never changed by ARP). @return 0 or ENOSPC.
    int addPermanent(in_addr address, const EthernetAddress& mac);
    /// Forgets @p address, freeing what waited for it. @return 0 or ENOENT.
    int remove(in_addr address);

    /// Queues @p packet until @p address is resolved (see Wait). On sendRequest and queued the
    /// cache owns the packet; on full and tableFull the caller still does.
    Wait wait(in_addr address, Netbuf* packet, std::uint64_t now);
    /// Moves up to @p max packets waiting for @p address into @p out. @return how many.
    unsigned takePending(in_addr address, Netbuf** out, unsigned max);

    /// Runs the timers at @p now: @p sendRequest(address) for each incomplete entry due another
    /// request; entries out of requests are removed and their packets freed (@return counts them);
    /// reachable entries older than reachableTime are removed.
    /// @return packets dropped because their address never answered.
    unsigned expire(std::uint64_t now, const std::function<void(in_addr)>& sendRequest);

    /// A copy of the table.
    std::vector<Entry> entries() const;
    /// Entries in use.
    unsigned size() const { return used_; }
    /// The options it was made with.
    const Options& options() const { return options_; }

private:
    struct Slot {
        Entry entry;
        NetbufQueue pending;
        bool used = false;
    };
    int find(in_addr address) const;
    int insert(in_addr address, std::uint64_t now);
    void erase(int slot);
    int evictionCandidate() const;
    unsigned home(std::uint32_t address) const;
    std::uint64_t nanoseconds(std::chrono::milliseconds duration) const;

    Options options_;
    std::unique_ptr<Slot[]> slots_;    // the entries, index stable while used
    std::vector<std::int32_t> index_;  // open addressing over slots_, -1 empty; twice capacity
    std::vector<std::int32_t> free_;   // unused slots
    unsigned used_ = 0;
};

}  // namespace nexnet
