// Links the installed libcloudify and uses its public API.
#include <iostream>

#include <cloudify/cloudify.h>

int main() {
  auto url = cloudify::ParseUrl("sqlite://:memory:");
  if (!url.ok() || url->host != ":memory:") {
    return 1;
  }
  cloudify::model::NodeInstance instance;
  instance.id = cloudify::IdGenerator(1).NodeInstanceId("vm");
  std::cout << "libcloudify " << cloudify::kVersion << " " << instance.id << " "
            << cloudify::model::NodeInstanceStateName(instance.state) << "\n";
  return 0;
}
