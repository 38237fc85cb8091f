#include "framework/EthernetAddress.h"

#include <cstdio>
#include <cstring>
#include <random>

namespace nexnet {

std::optional<EthernetAddress> EthernetAddress::parse(std::string_view text) {
    EthernetAddress address;
    if (text.size() != 17) return std::nullopt;
    for (int i = 0; i < 6; ++i) {
        unsigned value = 0;
        for (int j = 0; j < 2; ++j) {
            char c = text[i * 3 + j];
            unsigned digit;
            if (c >= '0' && c <= '9') digit = c - '0';
            else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
            else return std::nullopt;
            value = value * 16 + digit;
        }
        if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return std::nullopt;
        address.bytes[i] = static_cast<std::uint8_t>(value);
    }
    return address;
}

EthernetAddress EthernetAddress::randomLocal() {
    std::random_device device;
    EthernetAddress address;
    for (auto& byte : address.bytes) byte = static_cast<std::uint8_t>(device());
    address.bytes[0] = static_cast<std::uint8_t>((address.bytes[0] & 0xfe) | 0x02);
    return address;
}

EthernetAddress EthernetAddress::fromBytes(const void* raw) {
    EthernetAddress address;
    std::memcpy(address.bytes.data(), raw, 6);
    return address;
}

std::string EthernetAddress::toString() const {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                  bytes[5]);
    return text;
}

}  // namespace nexnet
