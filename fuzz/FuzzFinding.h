#pragma once
// expect(): a fuzz target's own check. A broken promise stops the run as a sanitizer report does,
// so that libFuzzer keeps the input (and the corpus test fails on it).
#include <cstdio>
#include <cstdlib>

namespace nexnet::fuzz {

/// Stops the run with @p what when @p condition is false: a finding.
inline void expect(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "fuzz: broken promise: %s\n", what);
    std::abort();
}

}  // namespace nexnet::fuzz
