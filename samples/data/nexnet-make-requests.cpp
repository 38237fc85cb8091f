// nexnet-make-requests: writes the ARP, ICMP echo and UDP requests nexnet-sample answers to a
// pcap file (how samples/data/requests.pcap was made), so the sample runs without privileges:
//
//   nexnet-make-requests requests.pcap [--pings N] [--udp N]
//   nexnet-sample pcap:requests.pcap,tx=replies.pcap --duration 1
//   tshark -r replies.pcap
#include "samples/data/RequestCapture.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    nexnet::RequestCapture::Options options;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--pings" && i + 1 < argc) options.echoRequests = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (arg == "--udp" && i + 1 < argc) options.udpRequests = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (path.empty() && arg.rfind("--", 0) != 0) path = arg;
        else {
            path.clear();
            break;
        }
    }
    if (path.empty()) {
        std::fputs("usage: nexnet-make-requests OUT.pcap [--pings N] [--udp N]\n", stderr);
        return 2;
    }
    if (int error = nexnet::RequestCapture::write(path, options)) {
        std::fprintf(stderr, "nexnet-make-requests: %s: %s\n", path.c_str(), std::strerror(error));
        return 1;
    }
    return 0;
}
