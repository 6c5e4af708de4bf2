// The template relationship an instance relationship was expanded from: the one to the same
// target node with the same type, else the first to that target node.
#pragma once

#include "cloudify/model/node.h"

namespace cloudify::workflow {

inline const model::RelationshipSpec* TemplateRelationship(const model::Node& source_node,
                                                           const model::RelationshipInstance& rel) {
  const model::RelationshipSpec* fallback = nullptr;
  for (const auto& spec : source_node.spec.relationships) {
    if (spec.target_id == rel.target_name) {
      if (spec.type == rel.type) {
        return &spec;
      }
      fallback = fallback != nullptr ? fallback : &spec;
    }
  }
  return fallback;
}

}  // namespace cloudify::workflow
