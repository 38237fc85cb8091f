// nexnetctl: lists nexnet's drivers, checks what the machine offers them, and prepares it
// (hugepages, binding a NIC to vfio-pci), saying what is missing and what to do about it.
#include "SystemCheck.h"

#include "drivers/BuiltinDrivers.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int usage() {
    std::fputs("usage: nexnetctl [-d PLUGIN.so]... COMMAND\n"
               "       nexnetctl drivers            list the drivers and their URIs\n"
               "       nexnetctl check              what this machine offers nexnet, and what to do\n"
               "       nexnetctl hugepages COUNT    reserve COUNT 2 MiB hugepages, mount /dev/hugepages\n"
               "       nexnetctl bind BDF           bind PCI device BDF (0000:00:03.0) to vfio-pci\n",
               stderr);
    return 2;
}

int listDrivers() {
    for (const auto* entry : nexnet::builtinDrivers().drivers())
        std::printf("%-8s %-48s %s%s\n", entry->scheme.c_str(), entry->usage.c_str(), entry->description.c_str(),
                    entry->plugin.empty() ? "" : (" [" + entry->plugin + "]").c_str());
    return 0;
}

int check() {
    bool allOk = true;
    for (const auto& f : nexnet::SystemCheck::check()) {
        std::printf("%-4s %-20s %s\n", f.ok ? "ok" : "--", f.item.c_str(), f.detail.c_str());
        if (!f.ok) std::printf("     %-20s -> %s\n", "", f.advice.c_str());
        allOk &= f.ok;
    }
    return allOk ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // -d PLUGIN.so (repeatable) before the command: drivers built outside nexnet.
    std::vector<std::string> plugins;
    while (argc >= 3 && (std::strcmp(argv[1], "-d") == 0 || std::strcmp(argv[1], "--plugin") == 0)) {
        plugins.push_back(argv[2]);
        argc -= 2;
        argv += 2;
    }
    if (auto loaded = nexnet::loadDriverPlugins(plugins); !loaded) {
        std::fprintf(stderr, "nexnetctl: %s\n", loaded.describe().c_str());
        return 1;
    }
    if (argc < 2) return usage();
    std::string command = argv[1];
    std::string message;
    int error = 0;
    if (command == "drivers") return listDrivers();
    if (command == "check") return check();
    if (command == "hugepages" && argc == 3) {
        char* end = nullptr;
        unsigned long count = std::strtoul(argv[2], &end, 10);
        if (*end != '\0' || count > 1u << 20) return usage();
        error = nexnet::SystemCheck::reserveHugepages(static_cast<unsigned>(count), message);
    } else if (command == "bind" && argc == 3) {
        error = nexnet::SystemCheck::bindToVfio(argv[2], message);
    } else {
        return usage();
    }
    std::printf("%s\n", message.c_str());
    return error == 0 ? 0 : 1;
}
