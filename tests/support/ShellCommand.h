#pragma once
/// @file ShellCommand.h
/// @brief runCommand: runs a shell command for a test and captures what it prints.

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace nexnet::test {

/// Exit status and combined output of a shell command.
struct CommandResult {
    int status = -1;     ///< Exit status, -1 when it did not exit normally.
    std::string output;  ///< stdout and stderr.
};

/// Runs @p command with sh, stdout and stderr captured. Callers bound it with `timeout N`.
inline CommandResult runCommand(const std::string& command) {
    CommandResult result;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) result.output += buffer;
    int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

}  // namespace nexnet::test
