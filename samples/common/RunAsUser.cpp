#include "samples/common/RunAsUser.h"

#include "samples/common/ArgumentValues.h"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace nexnet {

Result<RunAsUser> RunAsUser::find(std::string_view name) {
    using R = Result<RunAsUser>;
    std::string wanted(name);
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    // A name first; then, for digits only, a uid (as chown and tcpdump -Z accept one).
    int error = wanted.empty() ? ENOENT : getpwnam_r(wanted.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr && error == 0) {
        if (auto uid = parseCount(wanted, 0, UINT32_MAX - 1))
            error = getpwuid_r(static_cast<uid_t>(uid.value()), &entry, buffer.data(), buffer.size(), &found);
    }
    if (found == nullptr)
        return R::failure(EINVAL,
                          "no account " + quotedArgument(wanted) +
                              (error != 0 && error != ENOENT ? std::string(" (") + std::strerror(error) + ")"
                                                             : std::string(" (see /etc/passwd)")));
    RunAsUser user;
    user.name_ = entry.pw_name;
    user.uid_ = entry.pw_uid;
    user.gid_ = entry.pw_gid;
    return user;
}

Status RunAsUser::become() const {
    if (geteuid() != 0) {
        if (getuid() == uid_ && geteuid() == uid_) return {};  // already that account: nothing to give up
        return Status(EPERM, "--user " + name_ + " needs the program to start as root");
    }
    auto failed = [this](const char* call) {
        int error = errno;
        return Status(error, std::string("cannot continue as ") + name_ + ": " + call + ": " + std::strerror(error));
    };
    // Groups before the user: once the uid is not 0, the process may no longer change its groups.
    if (initgroups(name_.c_str(), gid_) != 0) return failed("initgroups");
    if (setgid(gid_) != 0) return failed("setgid");
    if (setuid(uid_) != 0) return failed("setuid");
    if (uid_ != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return Status(EPERM, "still able to become root after setuid(" + std::to_string(uid_) + "): stopping");
    return {};
}

}  // namespace nexnet
