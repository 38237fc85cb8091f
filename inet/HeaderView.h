#pragma once
/// @file HeaderView.h
/// @brief HeaderView: what every protocol view shares (the bytes looked at, or why it refused them).

#include "inet/HeaderError.h"

#include <cstdint>
#include <span>

namespace nexnet {

/// The base of the protocol views: a window over bytes someone else owns (a netbuf's data, a
/// frame in app-ring memory), or the reason the bytes were refused.
///
/// A view is made by its class's parse(), which checks everything its accessors will read; a
/// valid view never reads outside its bytes, and an invalid one (error() != HeaderError::none)
/// must not be read at all. Views copy nothing and allocate nothing: they are two words and an
/// error code, made and dropped per packet. The bytes must outlive the view; writing through a
/// view (the setters) changes the packet in place.
class HeaderView {
public:
    /// True when parse() accepted the bytes.
    bool valid() const { return error_ == HeaderError::none; }
    /// Same as valid().
    explicit operator bool() const { return valid(); }
    /// Why the bytes were refused, HeaderError::none for a valid view.
    HeaderError error() const { return error_; }
    /// The bytes the view covers: the header and what follows it, as given to parse() (for an
    /// IPv4 view, cut to the total length). Empty when invalid.
    std::span<std::uint8_t> bytes() const { return bytes_; }
    /// The first byte of the header.
    std::uint8_t* header() const { return bytes_.data(); }

protected:
    HeaderView() = default;
    /// A valid view of @p bytes.
    explicit HeaderView(std::span<std::uint8_t> bytes) : bytes_(bytes) {}
    /// A refused view.
    explicit HeaderView(HeaderError error) : error_(error) {}

    std::span<std::uint8_t> bytes_;          ///< What the view covers.
    HeaderError error_ = HeaderError::none;  ///< Why it was refused.
};

}  // namespace nexnet
