// TEMPORARY STUB (uncommitted): every-minute only, UTC only. Replaced by the
// real implementation from branch `cron`.
#include "storage/cron.hpp"
#include "storage/errors.hpp"
namespace jobd {
struct time_zone::rules { std::string name; };
time_zone::time_zone() : rules_(std::make_shared<rules>(rules{"UTC"})) {}
caf::expected<time_zone> time_zone::load(const std::string& name) {
  if (name != "UTC") return make_error(errc::invalid, "timeZone: unknown zone '" + name + "'");
  return time_zone{};
}
const std::string& time_zone::name() const { return rules_->name; }
int32_t time_zone::offset_at(int64_t) const { return 0; }
caf::expected<cron_expr> cron_expr::parse(std::string_view text) {
  if (text != "* * * * *") return make_error(errc::invalid, "cron: stub");
  cron_expr c; c.text_ = std::string{text}; return c;
}
std::optional<int64_t> cron_expr::next_after(int64_t after_ms, const time_zone&) const {
  return (after_ms / 60000 + 1) * 60000;
}
std::vector<int64_t> cron_expr::runs_between(int64_t from, int64_t to, const time_zone& tz, size_t limit) const {
  std::vector<int64_t> out;
  for (auto t = next_after(from, tz); t && *t <= to && out.size() < limit; t = next_after(*t, tz)) out.push_back(*t);
  return out;
}
}
