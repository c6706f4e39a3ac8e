// EventQueue — a request's events as a thread-safe queue, for a client that would rather pull
// than be called back (the server's streaming handlers): pass callback() to Engine::submit and
// pop() from any thread. The final event (finished) comes last for each sample.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "llm/batching/request.h"

namespace llm {

class EventQueue : public std::enable_shared_from_this<EventQueue> {
 public:
  static std::shared_ptr<EventQueue> create() {
    return std::shared_ptr<EventQueue>(new EventQueue());
  }
  // The callback to give Engine::submit; it keeps the queue alive.
  EventCallback callback() {
    return [self = shared_from_this()](const TokenEvent& e) { self->push(e); };
  }
  void push(const TokenEvent& e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(e);
    }
    cv_.notify_one();
  }
  // The next event, waiting up to `timeout`; nullopt when none came in time.
  std::optional<TokenEvent> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    TokenEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  EventQueue() = default;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TokenEvent> events_;
};

}  // namespace llm
