// nexnetctl: lists nexnet's drivers, checks what the machine offers them, and prepares it
// (hugepages, binding a NIC to vfio-pci), saying what is missing and what to do about it.
#include "SystemCheck.h"

#include "drivers/BuiltinDrivers.h"
#include "samples/common/ArgumentValues.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
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

// `hugepages COUNT`: the count strictly in digits (no sign, space or empty text: "" would write 0
// and release every reserved hugepage).
int hugepages(std::string_view argument) {
    auto count = nexnet::parseCount(argument, 0, 1u << 20);
    if (!count) {
        std::fprintf(stderr, "nexnetctl: hugepages %s: %s\n", nexnet::quotedArgument(argument).c_str(), count.message().c_str());
        return 2;
    }
    std::string message;
    int error = nexnet::SystemCheck::reserveHugepages(static_cast<unsigned>(count.value()), message);
    std::printf("%s\n", message.c_str());
    return error == 0 ? 0 : 1;
}

// `bind BDF`: a PCI address and nothing else, before any sysfs path is built from it.
int bind(std::string_view argument) {
    auto bdf = nexnet::parsePciAddress(argument);
    if (!bdf) {
        std::fprintf(stderr, "nexnetctl: bind %s: %s\n", nexnet::quotedArgument(argument).c_str(), bdf.message().c_str());
        return 2;
    }
    std::string message;
    int error = nexnet::SystemCheck::bindToVfio(bdf.value(), message);
    std::printf("%s\n", message.c_str());
    return error == 0 ? 0 : 1;
}

// The commands: name, whether it takes one argument, what runs it.
struct Command {
    std::string_view name;
    bool takesArgument;
    int (*run)(std::string_view argument);
};
constexpr Command kCommands[] = {
    {"drivers", false, [](std::string_view) { return listDrivers(); }},
    {"check", false, [](std::string_view) { return check(); }},
    {"hugepages", true, hugepages},
    {"bind", true, bind},
};

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
    for (const Command& command : kCommands) {
        if (command.name != argv[1]) continue;
        if (argc != (command.takesArgument ? 3 : 2)) return usage();
        return command.run(command.takesArgument ? argv[2] : "");
    }
    return usage();
}
