#include "support/TelemetrySchema.h"

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <fstream>
#include <sstream>

namespace nexnet::test {

std::string schemaViolations(const std::string& json) {
    std::ifstream file(std::string(NEXNET_SOURCE_DIR) + "/docs/telemetry.schema.json");
    if (!file) return "cannot read docs/telemetry.schema.json";
    nlohmann::json schemaDocument = nlohmann::json::parse(file, nullptr, false);
    if (schemaDocument.is_discarded()) return "docs/telemetry.schema.json is not JSON";
    nlohmann::json document = nlohmann::json::parse(json, nullptr, false);
    if (document.is_discarded()) return "the reply is not JSON: " + json.substr(0, 200);
    valijson::Schema schema;
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter schemaAdapter(schemaDocument);
    parser.populateSchema(schemaAdapter, schema);
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(document);
    if (validator.validate(schema, target, &results)) return "";
    std::ostringstream problems;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
        std::string where;
        for (auto& part : error.context) where += part;
        problems << where << ": " << error.description << "\n";
    }
    return problems.str();
}

}  // namespace nexnet::test
