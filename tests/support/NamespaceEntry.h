#pragma once
/// @file NamespaceEntry.h
/// @brief NamespaceEntry: the calling thread inside a named network namespace, for a scope.

#include <fcntl.h>
#include <sched.h>
#include <string>
#include <unistd.h>

namespace nexnet::test {

/// Puts the calling thread in network namespace @p name until destroyed: sockets made meanwhile
/// stay in that namespace for their whole life.
class NamespaceEntry {
public:
    /// Enters /run/netns/@p name; ok() tells whether it worked.
    explicit NamespaceEntry(const std::string& name) {
        self_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        int target = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        entered_ = self_ >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
        if (target >= 0) close(target);
    }
    /// Returns to the namespace the thread was in.
    ~NamespaceEntry() {
        if (entered_) setns(self_, CLONE_NEWNET);
        if (self_ >= 0) close(self_);
    }
    NamespaceEntry(const NamespaceEntry&) = delete;
    NamespaceEntry& operator=(const NamespaceEntry&) = delete;
    /// True when the thread is in the namespace.
    bool ok() const { return entered_; }

private:
    int self_ = -1;
    bool entered_ = false;
};

}  // namespace nexnet::test
