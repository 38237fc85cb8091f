#include "netbuf/Netbuf.h"

#include "netbuf/NetbufPool.h"

#include <new>

namespace nexnet {

namespace {

// A wrapped netbuf's callback lives in the cache line after its metadata.
struct WrapperTail {
    void (*freeCallback)(void* data, std::uint32_t size, void* context);
    void* context;
    std::uint32_t size;
};
constexpr std::uint16_t kNoPool = 0xffff;

}  // namespace

NetbufPool* Netbuf::pool() const { return (flags_ & kWrapped) != 0 ? nullptr : NetbufPool::fromId(poolId_); }

void Netbuf::free() {
    if ((flags_ & (kWrapped | kLent)) == 0) {
        if (NetbufPool* owner = NetbufPool::fromId(poolId_)) owner->free(this);
        return;
    }
    if ((flags_ & kLent) != 0) {
        if (NetbufPool* owner = NetbufPool::fromId(poolId_)) owner->takeBack(this);
        return;
    }
    auto* tail = reinterpret_cast<WrapperTail*>(this + 1);
    if (tail->freeCallback != nullptr) tail->freeCallback(buffer_, tail->size, tail->context);
    this->~Netbuf();
    ::operator delete (static_cast<void*>(this), std::align_val_t{64});
}

Netbuf* Netbuf::wrapWithFreeCallback(void* data, std::uint32_t size, void (*freeCallback)(void*, std::uint32_t, void*),
                                     void* context) {
    void* memory = ::operator new (sizeof(Netbuf) + sizeof(WrapperTail), std::align_val_t{64}, std::nothrow);
    if (memory == nullptr) return nullptr;
    auto* nb = new (memory) Netbuf();
    nb->buffer_ = static_cast<std::uint8_t*>(data);
    nb->capacity_ = size;
    nb->length_ = size;
    nb->poolId_ = kNoPool;
    nb->flags_ = kWrapped;
    new (nb + 1) WrapperTail{freeCallback, context, size};
    return nb;
}

}  // namespace nexnet
