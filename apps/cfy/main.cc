// cfy: the command line (the logic lives in cloudify::cli).
#include "cloudify/cli/cfy.h"

int main(int argc, char** argv) { return cloudify::cli::CfyMain(argc, argv); }
