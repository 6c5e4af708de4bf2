// cloudify-agent: runs the host_agent operations the manager sends to this host's agent.
#include "cloudify/agent/worker.h"

int main(int argc, char** argv) { return cloudify::agent::AgentMain(argc, argv); }
