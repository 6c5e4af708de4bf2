// The umbrella header for embedders and examples: everything public but the HTTP binding.
// The library itself never includes it.
#pragma once

#include "cloudify/clock.h"
#include "cloudify/ids.h"
#include "cloudify/logging.h"
#include "cloudify/model/blueprint.h"
#include "cloudify/model/deployment.h"
#include "cloudify/model/event.h"
#include "cloudify/model/execution.h"
#include "cloudify/model/node.h"
#include "cloudify/model/operation.h"
#include "cloudify/model/plan.h"
#include "cloudify/model/plugin.h"
#include "cloudify/model/resource.h"
#include "cloudify/model/secret.h"
#include "cloudify/model/tenant.h"
#include "cloudify/model/user.h"
#include "cloudify/status.h"
#include "cloudify/url.h"
#include "cloudify/version.h"
