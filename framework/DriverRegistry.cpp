#include "framework/DriverRegistry.h"

#include "framework/DriverPlugin.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

namespace nexnet {

namespace {
using OpenResult = Result<std::unique_ptr<IONetwork>>;
using Schemes = Result<std::vector<std::string>>;

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text.empty() ? "none" : text;
}
}  // namespace

int DriverRegistry::registerDriver(std::string scheme, std::string usage, std::string description,
                                   std::vector<std::string> options, Factory factory) {
    if (scheme.empty() || !factory) return EINVAL;
    if (entries_.count(scheme) != 0) return EEXIST;
    std::sort(options.begin(), options.end());
    Entry entry{scheme,        std::move(usage), std::move(description), std::move(options), std::move(factory),
                loadingPlugin_};
    entries_.emplace(std::move(scheme), std::move(entry));
    return 0;
}

Result<std::unique_ptr<IONetwork>> DriverRegistry::open(std::string_view text) const {
    auto uri = DriverUri::parse(text);
    if (!uri) return OpenResult::failure(uri);
    const Entry* entry = find(uri->scheme);
    if (entry == nullptr) {
        std::vector<std::string> known;
        for (const auto& [scheme, e] : entries_) known.push_back(scheme);
        return OpenResult::failure(EPROTONOSUPPORT,
                                   std::string(text) + ": no driver for '" + uri->scheme + ":' (known: " +
                                       joined(known) + "; load others with -d PLUGIN or " + kDriverPathVariable + ")");
    }
    std::vector<std::string> unknown;
    for (const auto& [key, value] : uri->options) {
        if (!std::binary_search(entry->options.begin(), entry->options.end(), key)) unknown.push_back(key);
    }
    if (!unknown.empty())
        return OpenResult::failure(EINVAL,
                                   std::string(text) + ": unknown option" + (unknown.size() > 1 ? "s " : " ") +
                                       joined(unknown) + " (" + uri->scheme + " takes: " + joined(entry->options) +
                                       ")");
    auto driver = entry->factory(uri.value());
    if (!driver) {
        std::string what = driver.message().empty() ? std::strerror(driver.error()) : driver.message();
        return OpenResult::failure(driver.error(), std::string(text) + ": " + what);
    }
    return driver;
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

Result<std::vector<std::string>> DriverRegistry::loadPlugin(const std::string& path) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) return Schemes::failure(errno, path + ": " + std::strerror(errno));
    // Keep the plug-in loaded for good: its code backs drivers that may live until exit.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == nullptr) return Schemes::failure(ENOEXEC, path + ": " + dlerror());
    if (std::find(loadedPlugins_.begin(), loadedPlugins_.end(), path) != loadedPlugins_.end())
        return std::vector<std::string>{};
    auto abi = reinterpret_cast<unsigned (*)()>(dlsym(handle, "nexnet_driver_plugin_abi"));
    auto entry = reinterpret_cast<int (*)(DriverRegistry*)>(dlsym(handle, "nexnet_register_drivers"));
    if (abi == nullptr || entry == nullptr)
        return Schemes::failure(ENOEXEC,
                                path +
                                    ": not a nexnet driver plug-in (no nexnet_driver_plugin_abi or "
                                    "nexnet_register_drivers)");
    if (abi() != kDriverPluginAbi)
        return Schemes::failure(EPROTO,
                                path + ": built for plug-in ABI " + std::to_string(abi()) + ", this nexnet has " +
                                    std::to_string(kDriverPluginAbi) + ": rebuild it");
    std::vector<std::string> before;
    for (const auto& [scheme, e] : entries_) before.push_back(scheme);
    loadingPlugin_ = path;
    int error = entry(this);
    loadingPlugin_.clear();
    if (error != 0) return Schemes::failure(error, path + ": registering its drivers failed: " + std::strerror(error));
    loadedPlugins_.push_back(path);
    std::vector<std::string> added;
    for (const auto& [scheme, e] : entries_) {
        if (std::find(before.begin(), before.end(), scheme) == before.end()) added.push_back(scheme);
    }
    return added;
}

Result<std::vector<std::string>> DriverRegistry::loadPlugins(std::string_view paths) {
    std::vector<std::string> added;
    while (!paths.empty()) {
        auto colon = paths.find(':');
        std::string item(paths.substr(0, colon));
        paths = colon == std::string_view::npos ? std::string_view() : paths.substr(colon + 1);
        if (item.empty()) continue;
        std::vector<std::string> files;
        if (DIR* dir = opendir(item.c_str())) {
            while (dirent* e = readdir(dir)) {
                std::string name = e->d_name;
                if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) files.push_back(item + "/" + name);
            }
            closedir(dir);
            std::sort(files.begin(), files.end());
        } else {
            files.push_back(item);
        }
        for (const std::string& file : files) {
            auto schemes = loadPlugin(file);
            if (!schemes) return schemes;
            added.insert(added.end(), schemes->begin(), schemes->end());
        }
    }
    return added;
}

}  // namespace nexnet
