#include "samples/common/ArgumentValues.h"

#include "framework/pci/PciDevice.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace nexnet {

namespace {

bool isPlain(unsigned char c) { return c > ' ' && c < 0x7f && c != '"' && c != '\\'; }

// What a host address must not be, or nullptr. @p host is in host order.
const char* reservedBlock(std::uint32_t host) {
    if (host == 0xffffffffu) return "the limited broadcast address";
    if ((host >> 24) == 0) return "in 0.0.0.0/8 (\"this network\", never a host's own address)";
    if ((host >> 24) == 127) return "a loopback address (127.0.0.0/8)";
    if ((host >> 28) == 0xe) return "a multicast address (224.0.0.0/4)";
    if ((host >> 28) == 0xf) return "a reserved address (240.0.0.0/4)";
    return nullptr;
}

std::string dotted(std::uint32_t host) {
    in_addr address{htonl(host)};
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

}  // namespace

in_addr HostAddress::netmask() const { return in_addr{htonl(prefix == 0 ? 0 : ~0u << (32 - prefix))}; }

std::string quotedArgument(std::string_view text) {
    bool plain = !text.empty();
    for (char c : text) plain = plain && isPlain(static_cast<unsigned char>(c));
    if (plain) return std::string(text);
    std::string quoted = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= ' ' && byte < 0x7f && c != '"' && c != '\\') {
            quoted += c;
        } else {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\x%02x", byte);
            quoted += escape;
        }
    }
    return quoted + "\"";
}

Result<std::uint64_t> parseCount(std::string_view text, std::uint64_t min, std::uint64_t max) {
    std::uint64_t value = 0;
    // from_chars takes no sign, no space and no empty text: exactly the digits a person meant.
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    bool digits = !text.empty() && error == std::errc() && end == text.data() + text.size();
    if (!digits || value < min || value > max)
        return Result<std::uint64_t>::failure(
            EINVAL,
            "not a number from " + std::to_string(min) + " to " + std::to_string(max) + " (decimal digits only)");
    return value;
}

Result<double> parseSeconds(std::string_view text, double max) {
    // Digits with at most one point: from_chars alone would also take "inf", "nan" and exponents.
    unsigned digits = 0, points = 0;
    for (char c : text) {
        if (c >= '0' && c <= '9') ++digits;
        else if (c == '.') ++points;
        else digits = points = 100;  // anything else: refused below
    }
    double value = 0;
    bool ok = digits > 0 && digits < 100 && points <= 1;
    if (ok) {
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
        ok = error == std::errc() && end == text.data() + text.size() && value > 0 && value <= max;
    }
    if (!ok) {
        char limit[32];
        std::snprintf(limit, sizeof limit, "%.0f", max);
        return Result<double>::failure(EINVAL,
                                       std::string("not a number of seconds above 0 and at most ") + limit +
                                           " (digits and one point, e.g. 2 or 0.5)");
    }
    return value;
}

Result<HostAddress> parseHostAddress(std::string_view text) {
    using R = Result<HostAddress>;
    HostAddress host;
    auto slash = text.find('/');
    std::string address(text.substr(0, slash));
    if (slash != std::string_view::npos) {
        auto prefix = parseCount(text.substr(slash + 1), 0, 32);
        if (!prefix)
            return R::failure(
                EINVAL, "the prefix length " + quotedArgument(text.substr(slash + 1)) + " is " + prefix.message());
        host.prefix = static_cast<unsigned>(prefix.value());
    }
    // inet_pton takes exactly four decimal parts: no spaces, no octal or hex, no shortened forms.
    if (inet_pton(AF_INET, address.c_str(), &host.address) != 1)
        return R::failure(EINVAL, quotedArgument(address) + " is not an IPv4 address (A.B.C.D[/N], e.g. 10.77.0.2/24)");
    std::uint32_t value = ntohl(host.address.s_addr);
    if (const char* why = reservedBlock(value))
        return R::failure(EINVAL, address + " is " + why + ": a host's own address must be unicast");
    if (host.prefix <= 30) {  // /31 (RFC 3021) and /32 have neither a network nor a broadcast address
        std::uint32_t hostBits = host.prefix == 0 ? ~0u : ~(~0u << (32 - host.prefix));
        std::string network = dotted(value & ~hostBits) + "/" + std::to_string(host.prefix);
        if ((value & hostBits) == hostBits)
            return R::failure(EINVAL, address + " is the broadcast address of " + network + ": choose a host in it");
        if ((value & hostBits) == 0)
            return R::failure(EINVAL, address + " is the address of the network " + network + ": choose a host in it");
    }
    return host;
}

Result<EthernetAddress> parseStationAddress(std::string_view text) {
    using R = Result<EthernetAddress>;
    auto address = EthernetAddress::parse(text);
    if (!address) return R::failure(EINVAL, "not an Ethernet address (six hex bytes, e.g. 02:00:00:00:00:01)");
    const char* why = address->isBroadcast() ? "the broadcast address"
        : address->isMulticast()             ? "a multicast address (the group bit, 01:00:00:00:00:00, is set)"
        : address->isZero()                  ? "all zeros"
                                             : nullptr;
    if (why != nullptr)
        return R::failure(
            EINVAL,
            address->toString() + " is " + why + ": a station's own address must be unicast (e.g. 02:00:00:00:00:01)");
    return *address;
}

Result<std::string> parsePciAddress(std::string_view text) {
    if (!PciDevice::isAddress(text))
        return Result<std::string>::failure(
            EINVAL, "not a PCI address (DDDD:BB:DD.F as `lspci -D` shows it, e.g. 0000:03:00.0)");
    return std::string(text);
}

}  // namespace nexnet
