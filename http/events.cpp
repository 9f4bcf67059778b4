#include "http/events.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>

#include "storage/clock.hpp"
#include "http/job_json.hpp"
#include "storage/json_text.hpp"

namespace jobd {

void throughput_ring::add(ms_t at, bool completed) {
  auto index = at / bucket_ms;
  std::lock_guard<std::mutex> guard{mtx_};
  auto& s = slots_[static_cast<size_t>(index) % bucket_count];
  if (s.index != index)
    s = slot{index, 0, 0};
  ++(completed ? s.completed : s.failed);
}

std::vector<throughput_ring::bucket> throughput_ring::snapshot(ms_t now) const {
  auto last = now / bucket_ms;
  std::vector<bucket> out;
  out.reserve(bucket_count);
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto index = last - static_cast<int64_t>(bucket_count) + 1;
       index <= last; ++index) {
    bucket b;
    b.start = index * bucket_ms;
    auto& s = slots_[static_cast<size_t>(index) % bucket_count];
    if (s.index == index) {
      b.completed = s.completed;
      b.failed = s.failed;
    }
    out.push_back(b);
  }
  return out;
}

void event_hub::add(const std::shared_ptr<event_sink>& sink) {
  std::lock_guard<std::mutex> guard{mtx_};
  sinks_.push_back(sink);
}

void event_hub::publish(const sse_event& ev) {
  std::vector<std::shared_ptr<event_sink>> live;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    live.reserve(sinks_.size());
    sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(),
                                [&](const std::weak_ptr<event_sink>& w) {
                                  auto s = w.lock();
                                  if (!s)
                                    return true;
                                  live.push_back(std::move(s));
                                  return false;
                                }),
                 sinks_.end());
  }
  // Pushing outside the lock: a sink posts to its connection's strand.
  for (auto& s : live)
    s->push(ev.frame, ev.seq);
}

void event_hub::job_changed(const job& j) {
  timings.observe(j);
  if (j.status == job_status::completed || j.status == job_status::failed) {
    auto at = j.completed_at != 0 ? j.completed_at
                                  : system_clock_source{}.now_ms();
    ring_.add(at, j.status == job_status::completed);
    ++(j.status == job_status::completed ? completed_total : failed_total);
  }
}

void event_hub::feed(const change_page& page) {
  for (auto& ev : feed_frames(page))
    publish(ev);
}

std::vector<sse_event> feed_frames(const change_page& page) {
  std::vector<sse_event> out;
  out.reserve(page.changes.size() + 1);
  if (page.gap)
    out.push_back(
      {std::make_shared<const std::string>(sse_frame("reset", "{}")), -1});
  for (auto& c : page.changes) {
    if (c.deleted) {
      std::string data = "{\"id\":";
      append_json_string(data, c.job.id);
      data += '}';
      out.push_back({std::make_shared<const std::string>(
                       sse_frame("deleted", data, c.seq)),
                     c.seq});
    } else {
      out.push_back({std::make_shared<const std::string>(
                       sse_frame("job", job_to_json(c.job), c.seq)),
                     c.seq});
    }
  }
  return out;
}

bool event_hub::has_streams() {
  std::lock_guard<std::mutex> guard{mtx_};
  sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(),
                              [](const std::weak_ptr<event_sink>& w) {
                                return w.expired();
                              }),
               sinks_.end());
  return !sinks_.empty();
}

std::string sse_frame(const char* name, const std::string& data,
                      int64_t id) {
  std::string out;
  out.reserve(data.size() + 48);
  if (id >= 0) {
    out += "id: ";
    out += std::to_string(id);
    out += '\n';
  }
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

void subscribe_events(const store_actor& store,
                      const std::shared_ptr<event_hub>& hub) {
  std::weak_ptr<event_hub> weak = hub;
  caf::anon_send(store, caf::subscribe_atom::value,
                 change_observer{[weak](const job& j) {
                   if (auto h = weak.lock())
                     h->job_changed(j);
                 }});
  caf::anon_send(store, caf::subscribe_atom::value,
                 feed_observer{[weak] {
                                 auto h = weak.lock();
                                 return h && h->has_streams();
                               },
                               [weak](const change_page& page) {
                                 if (auto h = weak.lock())
                                   h->feed(page);
                               }});
}

void join_feed(const store_actor& store, const std::shared_ptr<event_hub>& hub,
               const std::shared_ptr<event_sink>& sink, int64_t after,
               std::function<void(int64_t)> skip_through) {
  std::weak_ptr<event_sink> weak = sink;
  std::weak_ptr<event_hub> weak_hub = hub;
  feed_resume r;
  r.after = after;
  r.replay = [weak](const change_page& page) {
    if (auto s = weak.lock())
      for (auto& ev : feed_frames(page))
        s->push(ev.frame, -1); // replayed: never skipped
  };
  r.join = [weak, weak_hub, skip_through](int64_t through) {
    auto s = weak.lock();
    auto h = weak_hub.lock();
    if (!s || !h)
      return;
    skip_through(through);
    h->add(s);
    // On the store's thread, before any live page: the stream now gets
    // every change committed from here on.
    static const auto connected
      = std::make_shared<const std::string>(": connected\n\n");
    s->push(connected, -1);
  };
  caf::anon_send(store, feed_atom::value, std::move(r));
}

} // namespace jobd
