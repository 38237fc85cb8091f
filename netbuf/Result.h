#pragma once
/// @file Result.h
/// @brief Result: a value, or an errno with a message saying what went wrong.

#include <cassert>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace nexnet {

/// A value of type T, or the errno (and, where the callee could say more, a sentence) that
/// explains why there is none.
///
/// nexnet never throws across its API and never prints: a call that can fail and has something
/// to return returns a Result, and a failure carries what a program should show its user
/// ("vfio:0000:00:03.0: group 7 is not viable: unbind 0000:00:03.1 from e1000e"). Results are for
/// control paths (opening, configuring); the data path returns counts.
///
/// `if (!r) return r;` passes a failure up (with a different T: `Result<U>::failure(r)`);
/// `r.describe()` is the message, or strerror(error()) when the callee gave none.
template <typename T>
class [[nodiscard]] Result {
public:
    /// A successful result holding @p value.
    Result(T value) : value_(std::move(value)) {}
    /// A failed result; @p error is a positive errno value (ENOMEM, EINVAL, ...), @p message an
    /// optional explanation for a person.
    static Result failure(int error, std::string message = {}) { return Result(error, std::move(message)); }
    /// A failed result with the errno and message of another failed result.
    template <typename U>
    static Result failure(const Result<U>& other) {
        return Result(other.error(), other.message());
    }

    /// True when the result holds a value.
    bool ok() const { return value_.has_value(); }
    /// Same as ok().
    explicit operator bool() const { return ok(); }
    /// The errno of a failed result, 0 for a successful one.
    int error() const { return error_; }
    /// The explanation the callee gave, "" when it gave none (or on success).
    const std::string& message() const { return message_; }
    /// The explanation, or strerror(error()) when none was given; "" on success.
    std::string describe() const {
        if (!message_.empty() || ok()) return message_;
        return std::strerror(error_);
    }

    /// The value; only valid when ok().
    T& value() & {
        assert(ok());
        return *value_;
    }
    /// The value (read only); only valid when ok().
    const T& value() const& {
        assert(ok());
        return *value_;
    }
    /// Moves the value out; only valid when ok().
    T&& value() && {
        assert(ok());
        return std::move(*value_);
    }
    /// Member access to the value; only valid when ok().
    T* operator->() { return &value(); }
    /// Member access to the value (read only); only valid when ok().
    const T* operator->() const { return &value(); }
    /// The value; only valid when ok().
    T& operator*() & { return value(); }

private:
    Result(int error, std::string message) : error_(error), message_(std::move(message)) {}
    std::optional<T> value_;
    int error_ = 0;
    std::string message_;
};

/// The result of a call that returns nothing but may fail with an explanation: 0 or an errno,
/// and a message. Converts from an errno (`return EINVAL;` is a failure without a message).
class [[nodiscard]] Status {
public:
    /// Success.
    Status() = default;
    /// @p error 0 is success; otherwise a failure with @p message.
    Status(int error, std::string message = {}) : error_(error), message_(std::move(message)) {}
    /// A failure with the errno and message of a failed Result.
    template <typename U>
    static Status from(const Result<U>& result) {
        return Status(result.error(), result.message());
    }

    /// True on success.
    bool ok() const { return error_ == 0; }
    /// Same as ok().
    explicit operator bool() const { return ok(); }
    /// 0 or the errno.
    int error() const { return error_; }
    /// The explanation the callee gave, "" when none.
    const std::string& message() const { return message_; }
    /// The explanation, or strerror(error()) when none was given; "" on success.
    std::string describe() const {
        if (!message_.empty() || ok()) return message_;
        return std::strerror(error_);
    }

private:
    int error_ = 0;
    std::string message_;
};

}  // namespace nexnet
