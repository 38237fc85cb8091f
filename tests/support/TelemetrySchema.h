#pragma once
/// @file TelemetrySchema.h
/// @brief schemaViolations: checks a telemetry reply against docs/telemetry.schema.json (valijson).

#include <string>

namespace nexnet::test {

/// What is wrong with the telemetry reply @p json by docs/telemetry.schema.json, one problem per
/// line; "" when it is valid.
std::string schemaViolations(const std::string& json);

}  // namespace nexnet::test
