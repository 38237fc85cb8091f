#include "netbuf/nb.h"

#include "netbuf/Netbuf.h"
#include "netbuf/NetbufPool.h"

#include <new>

using nexnet::Netbuf;
using nexnet::NetbufPool;

namespace {

// The pool behind nb_alloc: made on first use, never destroyed, so a netbuf freed during static
// destruction (or by a thread still running at exit) never meets a dead pool.
NetbufPool* defaultPool() {
    static NetbufPool* pool = [] {
        NetbufPool::Options options;
        options.count = 2048;
        options.hugepages = false;
        options.name = "nexnet-nb";
        auto made = NetbufPool::create(options);
        return made ? made.value().release() : nullptr;
    }();
    return pool;
}

// NeXT's free function takes one argument; Netbuf's wrapper callback three.
struct NeXTFree {
    void (*freefunc)(void*);
    void* arg;
};

void callNeXTFree(void*, std::uint32_t, void* context) {
    auto* call = static_cast<NeXTFree*>(context);
    if (call->freefunc != nullptr) call->freefunc(call->arg);
    delete call;
}

int checked(int error) { return error == 0 ? 0 : -1; }

}  // namespace

extern "C" {

netbuf_t nb_alloc(unsigned int size) {
    NetbufPool* pool = defaultPool();
    if (pool == nullptr) return nullptr;
    Netbuf* nb = pool->allocate();
    if (nb == nullptr) return nullptr;
    if (nb->setSize(size) != 0) {
        nb->free();
        return nullptr;
    }
    return nb;
}

netbuf_t nb_alloc_wrapper(void* data, unsigned int size, void (*freefunc)(void*), void* freefunc_arg) {
    if (data == nullptr) return nullptr;
    auto* call = new (std::nothrow) NeXTFree{freefunc, freefunc_arg};
    if (call == nullptr) return nullptr;
    Netbuf* nb = Netbuf::wrapWithFreeCallback(data, size, callNeXTFree, call);
    if (nb == nullptr) delete call;
    return nb;
}

void nb_free(netbuf_t nb) {
    if (nb != nullptr) nb->free();
}

char* nb_map(netbuf_t nb) { return nb != nullptr ? reinterpret_cast<char*>(nb->data()) : nullptr; }

unsigned int nb_size(netbuf_t nb) { return nb != nullptr ? nb->size() : 0; }

int nb_read(netbuf_t nb, unsigned int offset, unsigned int size, void* target) {
    if (nb == nullptr || (target == nullptr && size != 0)) return -1;
    return checked(nb->read(offset, target, size));
}

int nb_write(netbuf_t nb, unsigned int offset, unsigned int size, const void* source) {
    if (nb == nullptr || (source == nullptr && size != 0)) return -1;
    return checked(nb->write(offset, source, size));
}

int nb_grow_top(netbuf_t nb, unsigned int size) { return nb != nullptr ? checked(nb->growTop(size)) : -1; }

int nb_shrink_top(netbuf_t nb, unsigned int size) { return nb != nullptr ? checked(nb->shrinkTop(size)) : -1; }

int nb_grow_bot(netbuf_t nb, unsigned int size) { return nb != nullptr ? checked(nb->growBottom(size)) : -1; }

int nb_shrink_bot(netbuf_t nb, unsigned int size) { return nb != nullptr ? checked(nb->shrinkBottom(size)) : -1; }

}  // extern "C"
