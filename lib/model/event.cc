#include "cloudify/model/event.h"

#include <array>

#include "common/enum_table.h"

namespace cloudify::model {
namespace {

constexpr std::array<EnumName<EventKind>, 2> kKindNames{{
    {EventKind::kEvent, "cloudify_event"},
    {EventKind::kLog, "cloudify_log"},
}};

}  // namespace

std::string_view EventKindName(EventKind k) { return NameOf<EventKind>(kKindNames, k); }

std::optional<EventKind> ParseEventKind(std::string_view name) {
  return ValueOf<EventKind>(kKindNames, name);
}

bool IsWorkflowEndEvent(std::string_view event_type) {
  return event_type == event_types::kWorkflowSucceeded ||
         event_type == event_types::kWorkflowFailed ||
         event_type == event_types::kWorkflowCancelled;
}

}  // namespace cloudify::model
