#include "cloudify/model/resource.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<Visibility>, 3> kVisibilityNames{{
    {Visibility::kPrivate, "private"},
    {Visibility::kTenant, "tenant"},
    {Visibility::kGlobal, "global"},
}};

}  // namespace

std::string_view VisibilityName(Visibility v) { return NameOf<Visibility>(kVisibilityNames, v); }

std::optional<Visibility> ParseVisibility(std::string_view name) {
  return ValueOf<Visibility>(kVisibilityNames, name);
}

Status CheckVisibilityChange(Visibility from, Visibility to) {
  if (static_cast<int>(to) < static_cast<int>(from)) {
    return Status(ErrorCode::kIllegalAction, "Can't set visibility to `" +
                                                 std::string(VisibilityName(to)) +
                                                 "` on a resource whose visibility is `" +
                                                 std::string(VisibilityName(from)) + "`");
  }
  return Status::Ok();
}

}  // namespace cloudify::model
