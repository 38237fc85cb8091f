#include "support/TestEnvironment.h"

#include <cstdlib>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>

namespace nexnet::test {

bool inCi() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

bool isRoot() { return geteuid() == 0; }

bool hasTun() {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    close(fd);
    return true;
}

bool hasProgram(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

std::string kernelPeerUnavailableReason() {
    if (!isRoot()) return "needs root (network namespaces and tap devices)";
    if (!hasTun()) return "needs /dev/net/tun";
    if (!hasProgram("ip")) return "needs iproute2 (ip)";
    return "";
}

}  // namespace nexnet::test
