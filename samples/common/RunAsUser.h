#pragma once
/// @file RunAsUser.h
/// @brief RunAsUser: a program gives up root once its devices are open (`--user NAME`, as
/// tcpdump -Z does).

#include "netbuf/Result.h"

#include <string>
#include <string_view>
#include <sys/types.h>

namespace nexnet {

/// The account a program continues as after it opened what needs root (a tap, a VFIO device,
/// locked memory): least privilege for the long part of its life, spent reading untrusted frames.
///
/// find() looks the account up while the program reads its arguments, so a misspelt name stops it
/// before it opens anything. become() then drops root for good, in the order that leaves nothing
/// behind: the supplementary groups (initgroups, the account's own), the group, the user. The
/// kernel clears every capability when the user id leaves 0, so the program cannot take root
/// back; become() checks that it cannot. Descriptors and mappings already open stay usable: a
/// tap's descriptor keeps moving frames, a pool stays mapped and locked.
///
/// What the program can no longer do afterwards: create or re-attach a tap (CAP_NET_ADMIN), set
/// a carrier or an MTU, bind a device. The samples say so when the link then fails.
class RunAsUser {
public:
    /// The account named @p name (a user name, or a numeric uid of an existing account).
    /// Errors: EINVAL with a message when there is no such account.
    static Result<RunAsUser> find(std::string_view name);

    /// Drops every privilege and continues as the account: initgroups, setgid, setuid, then checks
    /// that root cannot be taken back. Call it once everything privileged is open; threads started
    /// before it follow (glibc applies set*id to every thread). Errors, with a message: EPERM when
    /// the process is neither root nor already the account, or the errno of the call that failed
    /// (the program must then stop: it would run with privileges it meant to give up).
    Status become() const;

    /// The account's name.
    const std::string& name() const { return name_; }
    /// Its user id.
    uid_t uid() const { return uid_; }
    /// Its primary group id.
    gid_t gid() const { return gid_; }

private:
    RunAsUser() = default;

    std::string name_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

}  // namespace nexnet
