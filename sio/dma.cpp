// The DMA memory C API over Memory (see dma.h). dma_assoc and dma_disassoc are in Sockets.cpp.
#include "sio/dma.h"

#include "sio/core/Failure.h"
#include "sio/core/Runtime.h"
#include "sio/nexnet/PoolMemory.h"

#include <cerrno>
#include <cstring>

using nexnet::sio::fail;
using nexnet::sio::Memory;
using nexnet::sio::PoolMemory;
using nexnet::sio::Runtime;

extern "C" {

int dma_alloc(dma_mem_t* handlep, size_t size, unsigned int flags) {
    if (handlep == nullptr) return fail(EINVAL, "dma_alloc: handlep is NULL");
    auto memory = Memory::create(size, flags);
    if (!memory) {
        int error = memory.error();
        if (error == EINVAL)
            return fail(EINVAL, "dma_alloc: flags 0x%x unknown or contradictory, or size %zu below one unit (%zu)",
                        flags, size, std::size_t{2048} << (flags & DMA_UNIT_MASK));
        if (error == ENOMEM && (flags & DMA_HUGEPAGES))
            return fail(ENOMEM, "dma_alloc: no %zu bytes of free 2 MiB hugepages (see nexnetctl hugepages)", size);
        if (flags & DMA_LOCKED)
            return fail(error, "dma_alloc: cannot lock %zu bytes in RAM (%s; raise RLIMIT_MEMLOCK)", size,
                        strerror(error));
        return nexnet::sio::failSystem(error, "dma_alloc");
    }
    Memory* raw = memory->get();
    std::uintptr_t handle = Runtime::instance().memories().insert(std::move(memory.value()));
    if (handle == 0) return fail(ENOMEM, "dma_alloc: 4096 DMA memories exist already");
    raw->setHandle(handle);
    Runtime::instance().addRange(handle, raw->base(), raw->units() * raw->unit());
    *handlep = reinterpret_cast<dma_mem_t>(handle);
    return 0;
}

int dma_free(dma_mem_t handle, size_t size) {
    if (PoolMemory::isHandle(Runtime::handleOf(handle)))
        return fail(EBUSY, "dma_free: the memory of a nexnet endpoint is its interface's pool: sio_close ends it");
    int error = Runtime::instance().memories().destroyIf(Runtime::handleOf(handle), [size](Memory& memory) {
        if (size != memory.size())
            return fail(EINVAL, "dma_free: size %zu is not the size given to dma_alloc (%zu)", size, memory.size()),
                   EINVAL;
        if (memory.associations() > 0)
            return fail(EBUSY, "dma_free: still associated with %d sockets (dma_disassoc first)",
                        memory.associations()),
                   EBUSY;
        if (memory.sendsInFlight() > 0)
            return fail(EBUSY, "dma_free: the kernel still sends from %ld buffers of it", memory.sendsInFlight()),
                   EBUSY;
        return 0;
    });
    if (error == EBADF) return fail(EBADF, "dma_free: no such DMA memory");
    if (error == 0) Runtime::instance().removeRange(Runtime::handleOf(handle));
    return error == 0 ? 0 : -1;
}

int sio_reserve(dma_mem_t dma, void** memp, size_t size) {
    if (PoolMemory::isHandle(Runtime::handleOf(dma))) {
        auto pool = PoolMemory::table().acquire(Runtime::handleOf(dma) & ~PoolMemory::kTag);
        if (!pool) return fail(EBADF, "sio_reserve: no such DMA memory (the nexnet endpoint was closed)");
        return pool->reserve(memp, size);
    }
    auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(dma));
    if (!memory) return fail(EBADF, "sio_reserve: no such DMA memory");
    return memory->reserve(memp, size);
}

int sio_release(dma_mem_t dma, void* mem, size_t size) {
    if (PoolMemory::isHandle(Runtime::handleOf(dma))) {
        auto pool = PoolMemory::table().acquire(Runtime::handleOf(dma) & ~PoolMemory::kTag);
        if (!pool) return fail(EBADF, "sio_release: no such DMA memory (the nexnet endpoint was closed)");
        return pool->release(mem, size);
    }
    auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(dma));
    if (!memory) return fail(EBADF, "sio_release: no such DMA memory");
    return memory->release(mem, size);
}

int dma_getinfo(dma_mem_t mem, struct dma_info* info) {
    if (info == nullptr) return fail(EINVAL, "dma_getinfo: info is NULL");
    if (PoolMemory::isHandle(Runtime::handleOf(mem))) {
        auto pool = PoolMemory::table().acquire(Runtime::handleOf(mem) & ~PoolMemory::kTag);
        if (!pool) return fail(EBADF, "dma_getinfo: no such DMA memory (the nexnet endpoint was closed)");
        return pool->info(*info);
    }
    auto memory = Runtime::instance().memories().acquire(Runtime::handleOf(mem));
    if (!memory) return fail(EBADF, "dma_getinfo: no such DMA memory");
    return memory->info(*info);
}

dma_mem_t dma_find(const void* p) {
    std::uintptr_t handle = Runtime::instance().findMemory(p);
    if (handle == 0) fail(EINVAL, "dma_find: %p is in no DMA memory", p);
    return reinterpret_cast<dma_mem_t>(handle);
}

}  // extern "C"
