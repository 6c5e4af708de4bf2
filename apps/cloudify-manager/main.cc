// cloudify-manager: everything lives in the library; main only hands over.
#include <cloudify/server/server.h>

int main(int argc, char** argv) { return cloudify::server::ManagerMain(argc, argv); }
