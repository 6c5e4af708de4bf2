// ctx: what a script run by a script operation calls to talk to the manager (see
// cloudify/client/ctx.h for the command line).
#include <iostream>
#include <string>
#include <vector>

#include "cloudify/client/ctx.h"

int main(int argc, char** argv) {
  return cloudify::client::RunCtxCommand(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                         std::cerr);
}
