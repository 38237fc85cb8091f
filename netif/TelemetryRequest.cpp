#include "netif/TelemetryRequest.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <set>

namespace nexnet {

namespace {

using Json = nlohmann::json;
using R = Result<TelemetryRequest>;

// The members each command may carry; anything else is refused, so a typo is an error.
const std::set<std::string> kDescribeMembers = {"command", "interface"};
const std::set<std::string> kSetMembers = {"command", "interface", "state", "promiscuous", "mtu", "address"};
const std::set<std::string> kCaptureMembers = {"command", "interface", "filter", "count", "snaplen"};

std::string unknownMember(const Json& document, const std::set<std::string>& allowed) {
    for (auto& [key, value] : document.items()) {
        if (allowed.count(key) == 0) return key;
    }
    return "";
}

Result<TelemetrySetting> settingFrom(const Json& document) {
    using S = Result<TelemetrySetting>;
    TelemetrySetting setting;
    unsigned given = 0;
    if (auto it = document.find("state"); it != document.end()) {
        ++given;
        if (!it->is_string() || (*it != "up" && *it != "down"))
            return S::failure(EINVAL, "\"state\" must be \"up\" or \"down\"");
        setting.kind = *it == "up" ? TelemetrySetting::Kind::up : TelemetrySetting::Kind::down;
    }
    if (auto it = document.find("promiscuous"); it != document.end()) {
        ++given;
        if (!it->is_boolean()) return S::failure(EINVAL, "\"promiscuous\" must be true or false");
        setting.kind = TelemetrySetting::Kind::promiscuous;
        setting.on = it->get<bool>();
    }
    if (auto it = document.find("mtu"); it != document.end()) {
        ++given;
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 65535)
            return S::failure(EINVAL, "\"mtu\" must be a number of 0-65535");
        setting.kind = TelemetrySetting::Kind::mtu;
        setting.mtu = it->get<unsigned>();
    }
    if (auto it = document.find("address"); it != document.end()) {
        ++given;
        auto address = it->is_string() ? EthernetAddress::parse(it->get<std::string>()) : std::nullopt;
        if (!address) return S::failure(EINVAL, "\"address\" must be a MAC address aa:bb:cc:dd:ee:ff");
        setting.kind = TelemetrySetting::Kind::address;
        setting.address = *address;
    }
    if (given != 1) return S::failure(EINVAL, "a set request carries exactly one of state, promiscuous, mtu, address");
    return setting;
}

Result<TelemetryRequest> captureFrom(const Json& document, TelemetryRequest request) {
    if (auto it = document.find("filter"); it != document.end()) {
        if (!it->is_string()) return R::failure(EINVAL, "\"filter\" must be a string");
        request.filter = it->get<std::string>();
    }
    if (auto it = document.find("count"); it != document.end()) {
        if (!it->is_number_unsigned()) return R::failure(EINVAL, "\"count\" must be a number of frames");
        request.count = it->get<std::uint64_t>();
    }
    if (auto it = document.find("snaplen"); it != document.end()) {
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 ||
            it->get<std::uint64_t>() > TelemetryRequest::kMaxSnaplen)
            return R::failure(EINVAL, "\"snaplen\" must be a number of 1-262144");
        request.snaplen = it->get<std::uint32_t>();
    }
    return request;
}

}  // namespace

Result<TelemetryRequest> TelemetryRequest::parse(std::string_view line) {
    Json document = Json::parse(line, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return R::failure(EBADMSG, "the request is not a JSON object");
    auto command = document.find("command");
    if (command == document.end() || !command->is_string()) return R::failure(EINVAL, "the request has no \"command\"");
    TelemetryRequest request;
    const std::set<std::string>* allowed = nullptr;
    if (*command == "describe") {
        request.command = Command::describe;
        allowed = &kDescribeMembers;
    } else if (*command == "set") {
        request.command = Command::set;
        allowed = &kSetMembers;
    } else if (*command == "capture") {
        request.command = Command::capture;
        allowed = &kCaptureMembers;
    } else {
        return R::failure(EINVAL, "unknown command \"" + command->get<std::string>() + "\" (describe, set, capture)");
    }
    if (std::string member = unknownMember(document, *allowed); !member.empty())
        return R::failure(EINVAL, "unknown member \"" + member + "\" in a " + command->get<std::string>() + " request");
    if (auto it = document.find("interface"); it != document.end()) {
        if (!it->is_string() || it->get<std::string>().empty())
            return R::failure(EINVAL, "\"interface\" must be a name");
        request.interface = it->get<std::string>();
    }
    if (request.command != Command::describe && request.interface.empty())
        return R::failure(EINVAL, "a " + command->get<std::string>() + " request names an \"interface\"");
    if (request.command == Command::set) {
        auto setting = settingFrom(document);
        if (!setting) return R::failure(setting);
        request.setting = setting.value();
    }
    if (request.command == Command::capture) return captureFrom(document, std::move(request));
    return request;
}

std::string TelemetryRequest::toJson() const {
    Json document;
    switch (command) {
    case Command::describe:
        document["command"] = "describe";
        break;
    case Command::set:
        document["command"] = "set";
        switch (setting.kind) {
        case TelemetrySetting::Kind::up:
            document["state"] = "up";
            break;
        case TelemetrySetting::Kind::down:
            document["state"] = "down";
            break;
        case TelemetrySetting::Kind::promiscuous:
            document["promiscuous"] = setting.on;
            break;
        case TelemetrySetting::Kind::mtu:
            document["mtu"] = setting.mtu;
            break;
        case TelemetrySetting::Kind::address:
            document["address"] = setting.address.toString();
            break;
        }
        break;
    case Command::capture:
        document["command"] = "capture";
        document["filter"] = filter;
        document["count"] = count;
        document["snaplen"] = snaplen;
        break;
    }
    if (!interface.empty()) document["interface"] = interface;
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string TelemetryRequest::success() { return R"({"ok":true})"; }

std::string TelemetryRequest::error(int error, const std::string& message) {
    const char* name = strerrorname_np(error);
    Json document = {{"ok", false}, {"error", name != nullptr ? name : "EIO"}, {"errno", error}, {"message", message}};
    return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status TelemetryRequest::status(std::string_view reply) {
    Json document = Json::parse(reply, nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("ok") || !document["ok"].is_boolean())
        return Status(EBADMSG, "the telemetry reply is not one the protocol knows");
    if (document["ok"].get<bool>()) return Status();
    int error = document.value("errno", EIO);
    return Status(error > 0 ? error : EIO,
                  document.value("message", std::string(std::strerror(error > 0 ? error : EIO))));
}

}  // namespace nexnet
