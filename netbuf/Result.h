#pragma once
/// @file Result.h
/// @brief Result: a value or an errno, returned by calls that create something.

#include <cassert>
#include <optional>
#include <utility>

namespace nexnet {

/// A value of type T, or the errno that explains why there is none.
///
/// nexnet never throws across its API: a call that can fail and has something to return
/// returns a Result. `if (!r) return r.error();` is the usual way to handle one.
template <typename T>
class [[nodiscard]] Result {
public:
    /// A successful result holding @p value.
    Result(T value) : value_(std::move(value)) {}
    /// A failed result; @p error is a positive errno value (ENOMEM, EINVAL, ...).
    static Result failure(int error) { return Result(error, 0); }

    /// True when the result holds a value.
    bool ok() const { return value_.has_value(); }
    /// Same as ok().
    explicit operator bool() const { return ok(); }
    /// The errno of a failed result, 0 for a successful one.
    int error() const { return error_; }

    /// The value; only valid when ok().
    T& value() & { assert(ok()); return *value_; }
    /// The value (read only); only valid when ok().
    const T& value() const& { assert(ok()); return *value_; }
    /// Moves the value out; only valid when ok().
    T&& value() && { assert(ok()); return std::move(*value_); }
    /// Member access to the value; only valid when ok().
    T* operator->() { return &value(); }
    /// Member access to the value (read only); only valid when ok().
    const T* operator->() const { return &value(); }
    /// The value; only valid when ok().
    T& operator*() & { return value(); }

private:
    Result(int error, int) : error_(error) {}
    std::optional<T> value_;
    int error_ = 0;
};

}  // namespace nexnet
