#include "framework/DriverRegistry.h"

#include <cerrno>

namespace nexnet {

int DriverRegistry::registerDriver(std::string scheme, std::string usage, std::string description,
                                   Factory factory) {
    if (scheme.empty() || !factory) return EINVAL;
    if (entries_.count(scheme) != 0) return EEXIST;
    Entry entry{scheme, std::move(usage), std::move(description), std::move(factory)};
    entries_.emplace(std::move(scheme), std::move(entry));
    return 0;
}

Result<std::unique_ptr<IONetwork>> DriverRegistry::open(std::string_view text) const {
    using R = Result<std::unique_ptr<IONetwork>>;
    auto uri = DriverUri::parse(text);
    if (!uri) return R::failure(uri.error());
    const Entry* entry = find(uri->scheme);
    if (entry == nullptr) return R::failure(ENOENT);
    return entry->factory(uri.value());
}

std::vector<const DriverRegistry::Entry*> DriverRegistry::drivers() const {
    std::vector<const Entry*> list;
    for (const auto& [scheme, entry] : entries_) list.push_back(&entry);
    return list;
}

const DriverRegistry::Entry* DriverRegistry::find(std::string_view scheme) const {
    auto it = entries_.find(scheme);
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace nexnet
