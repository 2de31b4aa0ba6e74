#include "store/internal/watch_hub.h"

#include <algorithm>
#include <deque>

namespace knet::store::internal {

struct WatchHub::Subscription {
  Subscription(std::string p, int64_t min_rev, size_t capacity)
      : prefix(std::move(p)), min_revision(min_rev), queue(capacity) {}
  const std::string prefix;
  const int64_t min_revision;  // live events below this are not delivered
  EventQueue queue;
};

class WatchHub::HubWatcher : public Watcher {
 public:
  HubWatcher(WatchHub* hub, std::shared_ptr<Subscription> sub, int64_t replay_from,
             int64_t replay_to)
      : hub_(hub), sub_(std::move(sub)), replay_next_(replay_from), replay_to_(replay_to) {}
  ~HubWatcher() override { Cancel(); }

  StatusOr<Event> Next(std::chrono::steady_clock::time_point deadline) override {
    return NextImpl(deadline);
  }
  StatusOr<Event> TryNext() override { return NextImpl(std::nullopt); }

  void Cancel() override {
    sub_->queue.Cancel();
    std::lock_guard lock(cancel_mu_);
    if (hub_ != nullptr) {
      hub_->Unsubscribe(sub_.get());
      hub_ = nullptr;
    }
  }

 private:
  StatusOr<Event> NextImpl(std::optional<std::chrono::steady_clock::time_point> deadline) {
    std::lock_guard lock(next_mu_);  // one consumer at a time
    if (!replay_.empty() || replay_next_ <= replay_to_) {
      if (std::optional<Status> end = sub_->queue.end_status()) {
        // Ended while replaying: live events queued so far come after history not yet delivered,
        // so none of them may be returned now.
        if (end->code() != base::StatusCode::kResourceExhausted) return *end;
        int64_t resume = replay_.empty() ? replay_next_ : replay_.front().revision;
        return base::ResourceExhaustedError(
            "watcher fell behind while replaying history and was dropped; re-watch from revision " +
            std::to_string(resume));
      }
      if (replay_.empty()) {
        auto chunk = hub_history_(replay_next_);
        if (!chunk.ok()) {
          sub_->queue.Close(chunk.status());
          return chunk.status();
        }
        replay_next_ = chunk->size() < kReplayChunk ? replay_to_ + 1 : chunk->back().revision + 1;
        for (Event& e : *chunk) replay_.push_back(std::move(e));
      }
      if (!replay_.empty()) {
        Event e = std::move(replay_.front());
        replay_.pop_front();
        return e;
      }
    }
    return sub_->queue.Pop(deadline);
  }

  StatusOr<std::vector<Event>> hub_history_(int64_t from) {
    std::lock_guard lock(cancel_mu_);
    if (hub_ == nullptr) return base::Status(base::StatusCode::kCancelled, "watch cancelled");
    return hub_->history_(sub_->prefix, from, replay_to_, kReplayChunk);
  }

  static constexpr size_t kReplayChunk = 1000;
  std::mutex cancel_mu_;
  WatchHub* hub_;  // GUARDED_BY(cancel_mu_); null once cancelled
  std::shared_ptr<Subscription> sub_;
  std::mutex next_mu_;
  int64_t replay_next_;       // GUARDED_BY(next_mu_)
  const int64_t replay_to_;   // history ends here; live events start after it
  std::deque<Event> replay_;  // GUARDED_BY(next_mu_)
};

WatchHub::WatchHub(size_t buffer_events, HistoryFn history)
    : buffer_events_(buffer_events), history_(std::move(history)) {}

WatchHub::~WatchHub() { Close(); }

void WatchHub::Publish(const std::vector<Event>& events) {
  std::lock_guard lock(mu_);
  for (const Event& e : events) {
    for (const auto& sub : subscriptions_) {
      if (e.revision < sub->min_revision || !e.kv.key.starts_with(sub->prefix)) continue;
      sub->queue.Push(e);  // a full queue drops the watcher; it unsubscribes when it sees that
    }
    published_rev_ = std::max(published_rev_, e.revision);
  }
}

int64_t WatchHub::published_revision() const {
  std::lock_guard lock(mu_);
  return published_rev_;
}

void WatchHub::SetPublishedRevision(int64_t revision) {
  std::lock_guard lock(mu_);
  published_rev_ = std::max(published_rev_, revision);
}

std::unique_ptr<Watcher> WatchHub::Subscribe(std::string_view prefix, int64_t from_revision) {
  std::lock_guard lock(mu_);
  int64_t replay_to = published_rev_;
  int64_t from = from_revision == 0 ? published_rev_ + 1 : from_revision;
  auto sub = std::make_shared<Subscription>(std::string(prefix), std::max(from, replay_to + 1),
                                            buffer_events_);
  if (closed_) {
    sub->queue.Close(base::Status(base::StatusCode::kCancelled, "store closed"));
  } else {
    subscriptions_.push_back(sub);
  }
  return std::make_unique<HubWatcher>(this, std::move(sub), from, replay_to);
}

void WatchHub::Unsubscribe(Subscription* sub) {
  std::lock_guard lock(mu_);
  std::erase_if(subscriptions_, [&](const auto& s) { return s.get() == sub; });
}

void WatchHub::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (const auto& sub : subscriptions_) {
    sub->queue.Close(base::Status(base::StatusCode::kCancelled, "store closed"));
  }
  subscriptions_.clear();
}

}  // namespace knet::store::internal
