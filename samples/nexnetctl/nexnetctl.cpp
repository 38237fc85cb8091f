// nexnetctl: lists nexnet's drivers, checks what the machine offers them, and prepares it
// (hugepages, binding a NIC to vfio-pci); looks into running nexnet processes through their
// telemetry sockets (list, stats, top, export) and changes and captures their interfaces (set,
// capture). Every command is a row of one table, read strictly (CommandLine): an unknown option,
// a signed or malformed number, an empty value or a stray word is an error, exit status 2.
#include "CommandLine.h"
#include "SystemCheck.h"
#include "TelemetryCommands.h"

#include "drivers/BuiltinDrivers.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace nexnet;

namespace {

int listDrivers(const CommandLine&) {
    for (const auto* entry : builtinDrivers().drivers())
        std::printf("%-8s %-48s %s%s\n", entry->scheme.c_str(), entry->usage.c_str(), entry->description.c_str(),
                    entry->plugin.empty() ? "" : (" [" + entry->plugin + "]").c_str());
    return 0;
}

int check(const CommandLine&) {
    bool allOk = true;
    for (const auto& f : SystemCheck::check()) {
        std::printf("%-4s %-20s %s\n", f.ok ? "ok" : "--", f.item.c_str(), f.detail.c_str());
        if (!f.ok) std::printf("     %-20s -> %s\n", "", f.advice.c_str());
        allOk &= f.ok;
    }
    return allOk ? 0 : 1;
}

int finish(int error, const std::string& message) {
    std::printf("%s\n", message.c_str());
    return error == 0 ? 0 : 1;
}

int hugepages(const CommandLine& line) {
    const std::string& text = line.operands[0];
    unsigned count = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size() || count > 1u << 20) {
        std::fprintf(stderr, "nexnetctl: hugepages wants a whole number from 0 to 1048576, not \"%s\"\n", text.c_str());
        return 2;
    }
    std::string message;
    int failed = SystemCheck::reserveHugepages(count, message);
    return finish(failed, message);
}

int bind(const CommandLine& line) {
    std::string message;
    int failed = SystemCheck::bindToVfio(line.operands[0], message);
    return finish(failed, message);
}

struct Command {
    CommandSpec spec;
    std::function<int(const CommandLine&)> run;
};

std::vector<Command> commands() {
    std::vector<Command> table = {
        {{"drivers", {}, {}, false, "", "the drivers and their URIs"}, listDrivers},
        {{"check", {}, {}, false, "", "what this machine offers nexnet, and what to do"}, check},
        {{"hugepages", {"COUNT"}, {}, false, "COUNT", "reserve COUNT 2 MiB hugepages, mount /dev/hugepages"},
         hugepages},
        {{"bind", {"BDF"}, {}, false, "BDF", "bind PCI device BDF (0000:00:03.0) to vfio-pci"}, bind},
    };
    for (auto& spec : TelemetryCommands::specs()) table.push_back({spec, TelemetryCommands::run});
    return table;
}

int usage(std::FILE* out, int status) {
    std::fputs("usage: nexnetctl [-d PLUGIN.so]... COMMAND [ARGUMENTS]\n", out);
    for (auto& command : commands()) {
        std::string line = command.spec.name + (command.spec.usage.empty() ? "" : " " + command.spec.usage);
        std::fprintf(out, "  %-54s %s\n", line.c_str(), command.spec.summary.c_str());
    }
    std::fputs("IF is an interface name, or NAME@PID when several processes run one of that name.\n", out);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> arguments(argv + 1, argv + argc);
    // -d PLUGIN.so (repeatable) before the command: drivers built outside nexnet.
    std::vector<std::string> plugins;
    std::size_t at = 0;
    while (at < arguments.size() && (arguments[at] == "-d" || arguments[at] == "--plugin")) {
        if (at + 1 >= arguments.size() || arguments[at + 1].empty()) {
            std::fprintf(stderr, "nexnetctl: %s needs PLUGIN.so\n", arguments[at].c_str());
            return 2;
        }
        plugins.push_back(arguments[at + 1]);
        at += 2;
    }
    if (at < arguments.size() && (arguments[at] == "-h" || arguments[at] == "--help")) return usage(stdout, 0);
    if (at >= arguments.size()) return usage(stderr, 2);
    if (auto loaded = loadDriverPlugins(plugins); !loaded) {
        std::fprintf(stderr, "nexnetctl: %s\n", loaded.describe().c_str());
        return 1;
    }
    const std::string& name = arguments[at];
    for (auto& command : commands()) {
        if (command.spec.name != name) continue;
        std::string error;
        auto line = CommandLine::parse(command.spec, {arguments.begin() + at + 1, arguments.end()}, error);
        if (!line) {
            std::fprintf(stderr, "nexnetctl: %s\nusage: nexnetctl %s %s\n", error.c_str(), name.c_str(),
                         command.spec.usage.c_str());
            return 2;
        }
        return command.run(*line);
    }
    std::fprintf(stderr, "nexnetctl: unknown command \"%s\"\n", name.c_str());
    return usage(stderr, 2);
}
