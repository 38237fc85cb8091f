// TelemetryServer's captures: a connection that asked for one becomes a pcapng stream written by
// a CaptureTap's writer thread, until the count is reached, the client leaves or the interface goes.
#include "netif/CaptureTap.h"
#include "netif/ControlQueue.h"
#include "netif/DescriptorWrite.h"
#include "netif/NetworkInterface.h"
#include "netif/PcapngWriter.h"
#include "netif/TelemetryRegistry.h"
#include "netif/TelemetryServer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace nexnet {

namespace {
constexpr unsigned kMaxCaptures = 8;
constexpr auto kControlTimeout = std::chrono::seconds(2);
constexpr std::size_t kCaptureQueueBytes = 4u << 20;
}  // namespace

unsigned TelemetryServer::capturesOn(std::string_view name) const {
    std::lock_guard<std::mutex> lock(capturesLock_);
    return static_cast<unsigned>(std::count_if(captures_.begin(), captures_.end(),
                                               [name](auto& c) { return c->interface == name && !c->detached; }));
}

bool TelemetryServer::capture(Connection& connection, const TelemetryRequest& request, std::string& reply) {
    {
        std::lock_guard<std::mutex> lock(capturesLock_);
        if (captures_.size() >= kMaxCaptures) {
            reply = TelemetryRequest::error(EBUSY,
                                            "this process already runs " + std::to_string(kMaxCaptures) + " captures");
            return false;
        }
    }
    // Is it an interface (with the hooks a capture needs) and what was it opened as?
    std::string name = request.interface;
    auto found = control_.call<std::pair<int, std::string>>(
        [this, name]() -> std::pair<int, std::string> {
            if (!registry_.contains(name)) return {ENODEV, ""};
            NetworkInterface* interface = registry_.interface(name);
            if (interface == nullptr) return {EOPNOTSUPP, ""};
            auto described = registry_.snapshot(name);
            return {0, described.empty() ? "" : described.front().uri};
        },
        kControlTimeout);
    if (!found) {
        reply = TelemetryRequest::error(ETIMEDOUT, "the process's control loop did not answer");
        return false;
    }
    if (found->first == ENODEV) {
        reply = TelemetryRequest::error(ENODEV, "no interface " + name + " in process " + std::to_string(::getpid()));
        return false;
    }
    if (found->first != 0) {
        reply = TelemetryRequest::error(found->first,
                                        name + " is a driver run without a NetworkInterface: nothing to capture from");
        return false;
    }
    PcapngWriter::Options streamOptions{name, found->second, request.snaplen, 5000};
    auto writer = PcapngWriter::open(::fcntl(connection.fd, F_DUPFD_CLOEXEC, 0), streamOptions);
    if (!writer) {
        reply = TelemetryRequest::error(writer.error(), writer.describe());
        return false;
    }
    CaptureTap::Options options;
    options.filter = request.filter;
    options.count = request.count;
    options.snaplen = request.snaplen;
    options.queueBytes = std::max<std::size_t>(kCaptureQueueBytes, 4 * (std::size_t(request.snaplen) + 64));
    std::string message;
    auto tap = CaptureTap::create(options, std::move(writer.value()), &message);
    if (!tap) {
        reply = TelemetryRequest::error(tap.error(), message.empty() ? std::strerror(tap.error()) : message);
        return false;
    }
    // The reply line goes out before the tap is attached: nothing of the stream can precede it.
    std::string ok = R"({"ok":true,"format":"pcapng"})"
                     "\n";
    if (writeAll(connection.fd, ok.data(), ok.size(), 2000) != 0) return true;  // the client is gone already
    connection.capturing = true;
    auto capture = std::make_unique<Capture>();
    capture->tap = std::move(tap.value());
    capture->interface = name;
    capture->connection = connection.fd;
    CaptureTap* raw = capture->tap.get();
    {
        std::lock_guard<std::mutex> lock(capturesLock_);
        captures_.push_back(std::move(capture));
    }
    // Runs before any detach job for this capture (the queue keeps order); no answer is awaited.
    control_.post([this, raw, name] {
        NetworkInterface* interface = registry_.interface(name);
        if (interface != nullptr && raw->attach(*interface) == 0) return;
        std::lock_guard<std::mutex> lock(capturesLock_);  // gone meanwhile: the capture is over
        for (auto& c : captures_) {
            if (c->tap.get() == raw) c->detached = true;
        }
    });
    return true;
}

void TelemetryServer::checkCaptures() {
    std::vector<Capture*> ending;
    {
        std::lock_guard<std::mutex> lock(capturesLock_);
        for (auto& capture : captures_) {
            bool over =
                capture->peerGone || capture->detached || capture->tap->complete() || capture->tap->writeError() != 0;
            if (!over) continue;
            if (!capture->detached && !capture->detaching) {
                // Off the interface first, on the control thread; the tap goes once that is done.
                capture->detaching = std::make_shared<std::atomic<bool>>(false);
                control_.post([tap = capture->tap.get(), done = capture->detaching] {
                    tap->detach();
                    done->store(true);
                });
            }
            if (capture->detached || capture->detaching->load()) ending.push_back(capture.get());
        }
    }
    for (Capture* capture : ending) {
        std::unique_ptr<Capture> owned;
        {
            std::lock_guard<std::mutex> lock(capturesLock_);
            auto it =
                std::find_if(captures_.begin(), captures_.end(), [capture](auto& c) { return c.get() == capture; });
            owned = std::move(*it);
            captures_.erase(it);
        }
        int connection = owned->peerGone ? -1 : owned->connection;
        owned.reset();  // the writer drains, writes the statistics block and closes its descriptor
        if (connection >= 0) close(connection);
    }
}

void TelemetryServer::endCaptures(std::string_view name) {
    std::lock_guard<std::mutex> lock(capturesLock_);
    for (auto& capture : captures_) {
        if (capture->interface != name || capture->detached) continue;
        capture->tap->detach();
        capture->detached = true;
    }
}

}  // namespace nexnet
