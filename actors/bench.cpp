#include "actors/bench.hpp"

#include <iostream>

namespace jobd {

int run_bench(command_line&, const jobd_config&) {
  std::cerr << "jobd: bench is not built yet" << std::endl;
  return 2;
}

} // namespace jobd
