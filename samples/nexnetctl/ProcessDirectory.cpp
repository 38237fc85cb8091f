#include "ProcessDirectory.h"

#include <cerrno>
#include <charconv>

namespace nexnet {

std::string ProcessDirectory::searched() {
    std::string list;
    for (auto& directory : TelemetryClient::searchDirectories()) list += (list.empty() ? "" : ", ") + directory;
    return list;
}

std::vector<ProcessSample> ProcessDirectory::sampleAll() {
    std::vector<ProcessSample> samples;
    for (auto& endpoint : TelemetryClient::discover()) {
        ProcessSample sample{endpoint};
        auto client = TelemetryClient::connect(endpoint.path);
        if (!client) sample.report = Result<TelemetryReport>::failure(client);
        else sample.report = client.value()->describe();
        samples.push_back(std::move(sample));
    }
    return samples;
}

Result<ProcessDirectory::Target> ProcessDirectory::find(const std::string& spec) {
    using R = Result<Target>;
    std::string name = spec;
    pid_t wanted = 0;
    if (auto at = spec.find('@'); at != std::string::npos) {
        name = spec.substr(0, at);
        std::string pid = spec.substr(at + 1);
        auto [end, error] = std::from_chars(pid.data(), pid.data() + pid.size(), wanted);
        if (error != std::errc() || end != pid.data() + pid.size() || wanted <= 0 || name.empty())
            return R::failure(EINVAL, "\"" + spec + "\" is not an interface (NAME or NAME@PID)");
    }
    std::vector<pid_t> holders;
    std::string refused;
    for (auto& endpoint : TelemetryClient::discover()) {
        if (wanted != 0 && endpoint.pid != wanted) continue;
        auto client = TelemetryClient::connect(endpoint.path);
        if (!client) {
            if (client.error() == EACCES) refused = client.describe();
            continue;
        }
        auto report = client.value()->describe();
        if (!report) {
            if (report.error() == EACCES || report.error() == EPERM) refused = report.describe();
            continue;
        }
        if (report->find(name) != nullptr) holders.push_back(endpoint.pid);
    }
    if (holders.empty() && !refused.empty()) return R::failure(EACCES, refused);
    if (holders.empty()) {
        std::string where =
            wanted != 0 ? "process " + std::to_string(wanted) : "no nexnet process (sockets in " + searched() + ")";
        return R::failure(
            ENODEV,
            "no interface " + name + ": " +
                (wanted != 0 ? where + " does not run it, or is not a nexnet process" : where + " runs it"));
    }
    if (holders.size() > 1) {
        std::string pids;
        for (pid_t pid : holders) pids += " " + name + "@" + std::to_string(pid);
        return R::failure(ENOTUNIQ, name + " runs in several processes: say which:" + pids);
    }
    for (auto& endpoint : TelemetryClient::discover()) {
        if (endpoint.pid != holders.front()) continue;
        auto client = TelemetryClient::connect(endpoint.path);
        if (!client) return R::failure(client);
        return Target{endpoint.pid, name, std::move(client.value())};
    }
    return R::failure(ESRCH, "process " + std::to_string(holders.front()) + " went away");
}

}  // namespace nexnet
