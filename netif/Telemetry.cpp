#include "netif/Telemetry.h"

#include "framework/EventLoop.h"
#include "netif/ControlQueue.h"
#include "netif/NetworkInterface.h"
#include "netif/TelemetryRegistry.h"
#include "netif/TelemetryServer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace nexnet {

namespace {

std::string environment(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

// mkdir DIR (one level; the parent must exist), readable by all so the group can reach its socket.
int makeDirectory(const std::string& directory) {
    if (::mkdir(directory.c_str(), 0755) == 0 || errno == EEXIST) return 0;
    return errno;
}

}  // namespace

std::string Telemetry::runtimeDirectory() {
    if (std::string explicitDirectory = environment("NEXNET_RUNTIME_DIR"); !explicitDirectory.empty())
        return explicitDirectory;
    if (::geteuid() == 0) return "/run/nexnet";
    if (std::string xdg = environment("XDG_RUNTIME_DIR"); !xdg.empty()) return xdg + "/nexnet";
    return "/tmp/nexnet-" + std::to_string(::geteuid());
}

Telemetry::Telemetry() = default;

Result<std::unique_ptr<Telemetry>> Telemetry::open(const Options& options) {
    using R = Result<std::unique_ptr<Telemetry>>;
    std::unique_ptr<Telemetry> telemetry(new Telemetry());
    auto control = ControlQueue::create();
    if (!control) return R::failure(control);
    telemetry->control_ = std::move(control.value());
    telemetry->registry_ = std::make_unique<TelemetryRegistry>();
    TelemetryServer::Options serverOptions{options.path, options.socketMode, options.socketGroup, options.processName};
    if (serverOptions.path.empty()) {
        std::string directory = runtimeDirectory();
        if (int error = makeDirectory(directory); error != 0)
            return R::failure(error, "telemetry directory " + directory + ": " + std::strerror(error));
        serverOptions.path = directory + "/" + std::to_string(::getpid()) + ".sock";
    }
    if (serverOptions.processName.empty()) serverOptions.processName = program_invocation_short_name;
    auto server = TelemetryServer::start(*telemetry->registry_, *telemetry->control_, serverOptions);
    if (!server) return R::failure(server);
    telemetry->server_ = std::move(server.value());
    return telemetry;
}

Result<std::unique_ptr<Telemetry>> Telemetry::open(EventLoop& control, const Options& options) {
    using R = Result<std::unique_ptr<Telemetry>>;
    auto telemetry = open(options);
    if (!telemetry) return telemetry;
    Telemetry* raw = telemetry.value().get();
    if (int error = control.watchReadable(raw->controlEventFd(), [raw] { raw->serviceControl(); }); error != 0)
        return R::failure(error, "cannot watch the telemetry's control queue");
    raw->loop_ = &control;
    return telemetry;
}

Result<std::unique_ptr<Telemetry>> Telemetry::open(EventLoop& control) { return open(control, Options{}); }

Telemetry::~Telemetry() {
    if (loop_ != nullptr) loop_->unwatch(control_->eventFd());
    server_.reset();  // before the registry and the queue it uses
}

int Telemetry::addInterface(NetworkInterface& interface, const InterfaceDetails& details) {
    return registry_->add(
        {interface.name(), details.uri, &interface, &interface.driver(), details.bridge, details.lowResource});
}

int Telemetry::addDriver(IONetwork& driver, const std::string& uri, const std::string& name) {
    return registry_->add({name.empty() ? driver.name() : name, uri, nullptr, &driver, nullptr, nullptr});
}

int Telemetry::remove(std::string_view name) {
    server_->endCaptures(name);
    return registry_->remove(name);
}

void Telemetry::setAppRingServer(AppRingServer* server) { registry_->setAppRingServer(server); }

unsigned Telemetry::serviceControl() { return control_->run(); }

int Telemetry::controlEventFd() const { return control_->eventFd(); }

const std::string& Telemetry::path() const { return server_->path(); }

std::uint64_t Telemetry::requests() const { return server_->requests(); }

std::uint64_t Telemetry::refused() const { return server_->refused(); }

}  // namespace nexnet
