// The OpenAPI spec and the route table must describe the same API.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "http/server.hpp"

using namespace jobd;

namespace {

// (METHOD path) pairs under `paths:` of a YAML spec written in the plain
// block style openapi.yaml uses: paths at 2 spaces, methods at 4.
std::set<std::string> spec_operations(const std::string& path) {
  std::ifstream in{path};
  REQUIRE(in.good());
  std::set<std::string> out;
  std::string line, current;
  bool in_paths = false;
  const std::set<std::string> methods{"get", "post", "put", "patch",
                                      "delete", "head", "options"};
  while (std::getline(in, line)) {
    if (line.rfind("paths:", 0) == 0) {
      in_paths = true;
      continue;
    }
    if (!in_paths)
      continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#')
      break; // next top-level key
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      current = line.substr(2, line.size() - 3);
      continue;
    }
    if (line.rfind("    ", 0) == 0 && line.size() > 4 && line[4] != ' ') {
      auto name = line.substr(4, line.find(':') - 4);
      if (methods.count(name)) {
        for (auto& ch : name)
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        out.insert(name + " " + current);
      }
    }
  }
  return out;
}

} // namespace

TEST_CASE("openapi.yaml documents exactly the routes the server serves",
          "[http][openapi]") {
  auto documented = spec_operations(JOBD_SOURCE_DIR "/http/openapi.yaml");
  std::set<std::string> served;
  for (auto& r : http_routes())
    served.insert(r.method + " " + r.path);
  CHECK(!served.empty());
  for (auto& op : served) {
    INFO("served but not in openapi.yaml: " << op);
    CHECK(documented.count(op) == 1);
  }
  for (auto& op : documented) {
    INFO("in openapi.yaml but not served: " << op);
    CHECK(served.count(op) == 1);
  }
}
