// nexnetd: the nexnet service. Runs the interfaces it is given (driver URIs, addresses, queues, a
// bridge to the kernel's IP stack or not), serves their app rings and a telemetry socket, logs what
// it does to stderr (the journal under systemd), and stops cleanly on SIGTERM or SIGINT.
//
//   nexnetd [-c FILE] [--KEY VALUE]...      (DaemonConfig.h lists the keys)
//   nexnetd --check [-c FILE] [--KEY VALUE]...
//
// A bad configuration is reported with its place (FILE:LINE or argument N) and exits with 2.
#include "Daemon.h"
#include "DaemonConfig.h"

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

using namespace nexnet;

namespace {

const char kUsage[] =
    "usage: nexnetd [-c FILE] [--check] [--KEY VALUE]...\n"
    "Runs nexnet interfaces as a service: their app rings and a telemetry socket (nexnetctl).\n"
    "  -c, --config FILE   read the configuration from FILE (lines KEY VALUE; see nexnetd.conf)\n"
    "  --check             read and check the configuration, then exit\n"
    "  --interface URI     run the interface URI; the keys after it are that interface's:\n"
    "    --queues N --mode interrupt|poll --mac MAC --mtu N --promiscuous on|off\n"
    "    --address A.B.C.D/N --state up|down --appring on|off\n"
    "    --bridge NAME|off --bridge-address A.B.C.D/N --bridge-up on|off\n"
    "  --group NAME --appring-socket PATH --telemetry-socket PATH --plugin FILE.so\n";

Daemon* running = nullptr;
void onSignal(int) {
    if (running != nullptr) running->stop();  // EventLoop::stop is async-signal-safe
}

void log(const std::string& line) { std::fprintf(stderr, "nexnetd: %s\n", line.c_str()); }

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stderr, nullptr, _IOLBF, 0);
    DaemonConfig config;
    std::vector<std::string> options;
    bool check = false;
    for (int i = 1; i < argc; ++i) {
        std::string argument = argv[i];
        if (argument == "-h" || argument == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (argument == "--check") {
            check = true;
        } else if (argument == "-c" || argument == "--config") {
            if (i + 1 >= argc) {
                log("argument " + std::to_string(i) + ": " + argument + " needs a file");
                return 2;
            }
            // The file first: command-line settings that follow add to what it says.
            if (Status status = config.readFile(argv[++i]); !status) {
                log(status.describe());
                return 2;
            }
        } else {
            options.push_back(argument);
        }
    }
    Status status = config.readArguments(options);
    if (status) status = config.validate();
    if (!status) {
        log(status.describe());
        std::fputs(kUsage, stderr);
        return 2;
    }
    if (check) {
        log("configuration ok: " + std::to_string(config.interfaces.size()) + " interface(s)");
        return 0;
    }
    auto daemon = Daemon::start(config, log);
    if (!daemon) {
        log(daemon.describe());
        return 1;
    }
    running = daemon.value().get();
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that goes away is an error on its socket, not our death
    log("running");
    daemon.value()->run();
    running = nullptr;
    log("stopping");
    daemon.value().reset();
    log("stopped");
    return 0;
}
