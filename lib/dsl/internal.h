// Helpers shared by the dsl layer's sources (private).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloudify/status.h"

namespace cloudify::dsl {

// Walks `path` from index `start` (object keys and list indexes) into `value`.
// kFunctionsEvaluation naming `what` when a step does not exist.
Result<nlohmann::json> WalkJsonPath(const nlohmann::json& value, const nlohmann::json& path,
                                    size_t start, std::string_view what);

// The primitive type names of the DSL version (minor = 0..5), or a data type otherwise.
bool IsPrimitiveType(std::string_view type, int minor);

// Checks a plain value against a primitive type (never a data type). Intrinsic-function calls
// and null always pass; string-like and object-based types accept anything.
bool MatchesPrimitiveType(const nlohmann::json& value, std::string_view type);

// Checks the shape of a constraints list; the message names the problem ("" when fine).
std::string ConstraintsShapeError(const nlohmann::json& constraints, int minor);

// Checks `value` against `constraints` ([{"operator": arg}, ...]); the message says which
// constraint failed ("" when all pass). Data-based operators (filter_id, labels, tenants,
// name_pattern, deployment_id) need the manager's database and are not checked here, nor are
// constraints whose argument still holds an intrinsic function (see ConstraintsHaveFunctions).
std::string ConstraintViolation(const nlohmann::json& value, const nlohmann::json& constraints,
                                const std::string& what);

// True when an operator's argument is (or holds) an intrinsic-function call, such as
// `less_than: {get_input: limit}`: the original evaluates those when a deployment is created.
bool ConstraintsHaveFunctions(const nlohmann::json& constraints);

}  // namespace cloudify::dsl
