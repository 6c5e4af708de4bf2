// Tenant: the unit of isolation. Every resource belongs to one; `default_tenant` always exists.
#pragma once

#include <string>

#include "cloudify/clock.h"

namespace cloudify::model {

struct Tenant {
  std::string name;
  Timestamp created_at{};
  std::string rabbitmq_vhost;
  std::string rabbitmq_username;

  bool operator==(const Tenant&) const = default;
};

}  // namespace cloudify::model
