#include "inet/Ipv4Reassembly.h"

#include "inet/Ipv4View.h"
#include "inet/NetworkOrder.h"
#include "netbuf/NetbufPool.h"

namespace nexnet {

namespace {
// Payload starts this far into a reassembly buffer's data: room for the largest header.
constexpr unsigned kPayloadAt = Ipv4View::kMaxHeaderSize;
constexpr std::uint32_t kInfinity = 0xffffffffu;  // RFC 815: the last hole ends at "infinity"
}  // namespace

Ipv4Reassembly::Ipv4Reassembly(const Options& options) : options_(options) {}

nexnet::Result<std::unique_ptr<Ipv4Reassembly>> Ipv4Reassembly::create(const Options& options) {
    using R = nexnet::Result<std::unique_ptr<Ipv4Reassembly>>;
    std::unique_ptr<Ipv4Reassembly> table(new Ipv4Reassembly(options));
    if (options.maxDatagrams == 0) table->options_.maxDatagrams = 1;
    table->datagrams_ = std::make_unique<Datagram[]>(table->options_.maxDatagrams);
    if (!options.enabled) return table;
    NetbufPool::Options pool;
    pool.count = options.buffers > table->options_.maxDatagrams ? options.buffers : table->options_.maxDatagrams;
    pool.dataRoom = kPayloadAt + kMaxDatagram;
    pool.headroom = 128;  // Ethernet + VLAN + IPv4 + UDP in front of a large send's payload
    pool.cacheSize = 0;
    pool.hugepages = false;
    pool.name = "nexnet-reassembly";
    auto made = NetbufPool::create(pool);
    if (!made) return R::failure(made.error());
    table->pool_ = std::shared_ptr<NetbufPool>(made.value().release());
    return table;
}

Ipv4Reassembly::~Ipv4Reassembly() {
    for (unsigned i = 0; i < options_.maxDatagrams; ++i)
        if (datagrams_[i].used) release(datagrams_[i]);
}

unsigned Ipv4Reassembly::inProgress() const {
    unsigned n = 0;
    for (unsigned i = 0; i < options_.maxDatagrams; ++i) n += datagrams_[i].used ? 1 : 0;
    return n;
}

Netbuf* Ipv4Reassembly::allocateLarge() { return pool_ ? pool_->allocate() : nullptr; }

void Ipv4Reassembly::release(Datagram& d) {
    if (d.buffer != nullptr) d.buffer->free();
    d = Datagram{};
}

Ipv4Reassembly::Datagram* Ipv4Reassembly::find(const Ipv4View& fragment) {
    // RFC 791 section 3.2: source, destination, protocol and identification name a datagram.
    for (unsigned i = 0; i < options_.maxDatagrams; ++i) {
        Datagram& d = datagrams_[i];
        if (d.used && d.source == fragment.source().s_addr && d.destination == fragment.destination().s_addr &&
            d.identification == fragment.identification() && d.protocol == fragment.protocol())
            return &d;
    }
    return nullptr;
}

Ipv4Reassembly::Datagram* Ipv4Reassembly::start(const Ipv4View& fragment, std::uint64_t now, InetDrop& drop) {
    Datagram* slot = nullptr;
    for (unsigned i = 0; i < options_.maxDatagrams && slot == nullptr; ++i)
        if (!datagrams_[i].used) slot = &datagrams_[i];
    if (slot == nullptr) {  // full: the oldest makes room (a flood of first fragments cannot pin the table)
        slot = &datagrams_[0];
        for (unsigned i = 1; i < options_.maxDatagrams; ++i)
            if (datagrams_[i].started < slot->started) slot = &datagrams_[i];
        release(*slot);
        drop = InetDrop::reassemblyOverflow;
    }
    Netbuf* buffer = pool_->allocate();
    if (buffer == nullptr) {
        drop = InetDrop::reassemblyOverflow;
        return nullptr;
    }
    slot->used = true;
    slot->source = fragment.source().s_addr;
    slot->destination = fragment.destination().s_addr;
    slot->identification = fragment.identification();
    slot->protocol = fragment.protocol();
    slot->started = now;
    slot->buffer = buffer;
    slot->holes[0] = Hole{0, kInfinity};
    slot->holeCount = 1;
    return slot;
}

bool Ipv4Reassembly::fillHoles(Datagram& d, std::uint32_t first, std::uint32_t last, bool more) {
    // RFC 815 section 3, steps 1-6, over a copy of the list.
    std::array<Hole, kMaxHoles> kept{};
    unsigned count = 0;
    for (unsigned i = 0; i < d.holeCount; ++i) {
        Hole hole = d.holes[i];
        if (first > hole.last || last < hole.first) {
            if (count == kMaxHoles) return false;
            kept[count++] = hole;
            continue;
        }
        if (first > hole.first) {
            if (count == kMaxHoles) return false;
            kept[count++] = Hole{hole.first, first - 1};
        }
        if (last < hole.last && more) {
            if (count == kMaxHoles) return false;
            kept[count++] = Hole{last + 1, hole.last};
        }
    }
    // The last fragment fixes the end: no hole may lie beyond it.
    if (!more) {
        unsigned trimmed = 0;
        for (unsigned i = 0; i < count; ++i) {
            if (kept[i].first > last) continue;
            if (kept[i].last > last) kept[i].last = last;
            kept[trimmed++] = kept[i];
        }
        count = trimmed;
    }
    d.holes = kept;
    d.holeCount = count;
    return true;
}

Netbuf* Ipv4Reassembly::add(const Ipv4View& fragment, std::uint64_t now, InetDrop& drop) {
    drop = InetDrop::count;
    if (!options_.enabled) {
        drop = InetDrop::ipFragment;
        return nullptr;
    }
    auto payload = fragment.payload();
    std::uint32_t first = fragment.fragmentOffset();
    bool more = fragment.moreFragments();
    // RFC 791: every fragment but the last carries a multiple of 8 bytes; none is empty, and the
    // datagram they make fits in 65535 bytes.
    if (payload.empty() || (more && payload.size() % 8 != 0) ||
        first + payload.size() + fragment.headerLength() > kMaxDatagram) {
        drop = InetDrop::reassemblyInvalid;
        if (Datagram* d = find(fragment)) release(*d);
        return nullptr;
    }
    std::uint32_t last = first + static_cast<std::uint32_t>(payload.size()) - 1;
    Datagram* d = find(fragment);
    if (d == nullptr) {
        d = start(fragment, now, drop);
        if (d == nullptr) return nullptr;
    }
    if (!fillHoles(*d, first, last, more)) {
        release(*d);
        drop = InetDrop::reassemblyInvalid;
        return nullptr;
    }
    std::memcpy(d->buffer->data() + kPayloadAt + first, payload.data(), payload.size());
    if (first == 0) {
        d->headerLength = fragment.headerLength();
        std::memcpy(d->header.data(), fragment.header(), d->headerLength);
    }
    if (!more) {
        // Remember the end in the buffer's size until the datagram completes.
        d->buffer->setSize(kPayloadAt + last + 1);
    }
    if (d->holeCount != 0 || d->headerLength == 0) return nullptr;
    return finish(*d);
}

Netbuf* Ipv4Reassembly::finish(Datagram& d) {
    Netbuf* datagram = d.buffer;
    std::uint32_t payloadLength = datagram->size() - kPayloadAt;
    unsigned headerLength = d.headerLength;
    datagram->shrinkTop(kPayloadAt - headerLength);
    std::uint8_t* header = datagram->data();
    std::memcpy(header, d.header.data(), headerLength);
    storeBig16(header + 2, static_cast<std::uint16_t>(headerLength + payloadLength));
    storeBig16(header + 6, loadBig16(header + 6) & 0x4000);  // keep DF; no more fragments, offset 0
    Ipv4View::parse({header, headerLength + payloadLength}).updateHeaderChecksum();
    d.buffer = nullptr;
    d = Datagram{};
    return datagram;
}

unsigned Ipv4Reassembly::expire(std::uint64_t now) {
    unsigned expired = 0;
    auto timeout =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout).count());
    for (unsigned i = 0; i < options_.maxDatagrams; ++i) {
        Datagram& d = datagrams_[i];
        if (!d.used || now - d.started < timeout) continue;
        release(d);
        ++expired;
    }
    return expired;
}

}  // namespace nexnet
