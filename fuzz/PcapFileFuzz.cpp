// Fuzz target: pcap and pcapng files through the pcap driver, as a hostile file would reach it
// (`pcap:FILE`): any header, byte order, precision, record lengths, cut records, blocks. The input
// is the whole file. Nothing may crash, hang or leak; every frame handed up must be a whole record
// that fits its netbuf (or a record cut in the file, with partial=1: odd-sized inputs), and every
// netbuf must come back to the pool. Replies go to a tx file (/dev/null) so the write path runs too.
#include "FuzzFinding.h"

#include "drivers/pcap/PcapDriver.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

using namespace nexnet;
using nexnet::fuzz::expect;

namespace {

constexpr unsigned kMaxFrames = 20000;  // a file of a million tiny records still ends quickly

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The file lives in a memfd, named by its /proc path: the driver opens a path, as a user's would.
    int fd = memfd_create("nexnet-fuzz-pcap", MFD_CLOEXEC);
    expect(fd >= 0, "memfd_create");
    for (std::size_t written = 0; written < size;) {
        ssize_t n = write(fd, data + written, size - written);
        expect(n > 0, "write the capture");
        written += static_cast<std::size_t>(n);
    }
    PcapDriver::Options options;
    options.path = "/proc/self/fd/" + std::to_string(fd);
    options.txPath = "/dev/null";
    options.poolSize = 64;
    options.partial = (size & 1) != 0;
    auto created = PcapDriver::create(options);
    if (created) {
        PcapDriver& driver = *created.value();
        driver.resetAndEnable(true);
        const std::uint32_t room = driver.pool()->bufferSize() - driver.pool()->headroom();
        unsigned frames = 0;
        Netbuf* burst[32];
        for (unsigned n; frames < kMaxFrames && (n = driver.receive(0, burst, 32)) > 0; frames += n) {
            for (unsigned i = 0; i < n; ++i) {
                expect(burst[i]->size() <= room, "a frame larger than its netbuf was handed up");
                expect(burst[i]->poolId() == driver.pool()->id(), "a netbuf not from the driver's pool");
            }
            unsigned sent = driver.send(0, burst, n);  // the tx path: all taken, written, freed
            expect(sent == n, "transmitBurst refused frames");
        }
        expect(driver.pool()->inUse() == 0, "netbufs leaked by the replay");
        expect(driver.inputPackets() == frames, "received frames not counted once");
    }
    close(fd);
    return 0;
}
