// An out-of-tree program using the installed nexnet: opens the null driver and forwards a burst.
#include <drivers/BuiltinDrivers.h>
#include <netif/netif.h>
#include <sio/dma.h>
#include <sio/ec.h>

#include <cstdio>

int main() {
    auto driver = nexnet::builtinDrivers().open("null:,size=64");
    if (!driver) return 1;
    ifreq ifr{};
    ifr.ifr_flags = IFF_UP;
    if (driver.value()->performCommand(IFCONTROL_SETFLAGS, &ifr.ifr_ifru) != 0) return 2;
    nexnet::Netbuf* burst[32];
    unsigned n = driver.value()->receive(0, burst, 32);
    if (n != 32 || driver.value()->send(0, burst, n) != n) return 3;
    // sio/ (liburing underneath): an event channel and a block of DMA memory.
    ec_t channel = ec_create(EC_NONBLOCK);
    dma_mem_t memory;
    if (channel == nullptr || dma_alloc(&memory, 1 << 16, 0) != 0) return 4;
    if (dma_free(memory, 1 << 16) != 0 || ec_destroy(channel) != 0) return 5;
    std::puts("consumer: ok");
    return 0;
}
