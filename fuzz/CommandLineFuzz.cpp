// Fuzz target: the samples' command lines (samples/common): argument vectors of any words, read
// against a table shaped like nexnet-sample's and nexnet-fwd's, every value through its strict
// parser (counts, seconds, a host's address, a station's address, a PCI address, an account). Every
// refusal must be EINVAL with a message that names an argument; what is accepted must be in range.
#include "FuzzFinding.h"

#include "samples/common/ArgumentParser.h"
#include "samples/common/ArgumentValues.h"
#include "samples/common/RunAsUser.h"

#include <arpa/inet.h>

#include <optional>
#include <string>
#include <vector>

using namespace nexnet;
using nexnet::fuzz::expect;

namespace {

struct Settings {
    std::string uri;
    std::vector<std::string> plugins;
    HostAddress host;
    std::optional<EthernetAddress> mac;
    std::uint16_t port = 7;
    std::uint64_t count = 0;
    double seconds = 0;
    std::optional<RunAsUser> user;
    std::string pci;
    bool poll = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Words separated by NUL bytes, as the kernel hands argv to a program.
    std::vector<std::string> words = {"program"};
    std::string word;
    for (std::size_t i = 0; i < size && words.size() < 64; ++i) {
        if (data[i] == 0) {
            words.push_back(word);
            word.clear();
        } else {
            word += static_cast<char>(data[i]);
        }
    }
    if (!word.empty()) words.push_back(word);
    std::vector<const char*> argv;
    for (const std::string& w : words) argv.push_back(w.c_str());

    Settings settings;
    ArgumentParser parser;
    parser.flag({"--poll"}, [&] { settings.poll = true; })
        .option({"--driver"}, "URI", storeText(settings.uri))
        .option({"-d", "--plugin"}, "PLUGIN.so",
                [&](std::string_view file) {
                    settings.plugins.emplace_back(file);
                    return Status();
                })
        .option({"--ip"}, "A.B.C.D/N", storeInto(settings.host, parseHostAddress))
        .option({"--mac"}, "MAC", storeInto(settings.mac, parseStationAddress))
        .option({"--udp-port"}, "PORT", storeInto(settings.port, [](auto v) { return parseCount(v, 1, 65535); }))
        .option({"--count"}, "N", storeInto(settings.count, [](auto v) { return parseCount(v, 0, UINT64_MAX); }))
        .option({"--duration"}, "SECONDS", storeInto(settings.seconds, [](auto v) { return parseSeconds(v); }))
        .option({"--user"}, "NAME", storeInto(settings.user, RunAsUser::find))
        .option({"--bind"}, "BDF", storeInto(settings.pci, parsePciAddress))
        .operands("URI", 0, 2, storeText(settings.uri));
    auto parsed = parser.parse(static_cast<int>(argv.size()), argv.data());
    if (!parsed) {
        expect(parsed.error() == EINVAL, "a refusal other than EINVAL");
        expect(!parsed.message().empty(), "a refusal without a message");
        return 0;
    }
    std::uint32_t host = ntohl(settings.host.address.s_addr);
    expect(settings.host.prefix <= 32, "a prefix beyond 32");
    expect(host != 0 || settings.host.address.s_addr == 0, "address");
    if (host != 0)
        expect(host >> 28 != 0xe && host >> 28 != 0xf && host >> 24 != 127, "a host address no host may have");
    if (settings.mac)
        expect(!settings.mac->isMulticast() && !settings.mac->isZero(), "a station address no station may have");
    expect(settings.port >= 1, "port 0 accepted");
    expect(settings.seconds >= 0 && settings.seconds <= kMaxSeconds, "a duration out of range");
    expect(settings.pci.empty() || settings.pci.size() == 12, "a PCI address of the wrong shape");
    return 0;
}
