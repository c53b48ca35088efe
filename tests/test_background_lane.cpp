// BackgroundLane, the loop each kind of background work runs in: it goes on after a round that
// threw, hands its work a stop token, and a stop wakes it at once however long its tick is.
#define BOOST_TEST_MODULE background_lane
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <stdexcept>
#include <thread>

#include "app/background_lane.h"
#include "test_support.h"

using bcauth::app::BackgroundLane;

using bcauth::test::waitUntil;

namespace {

// Stops and joins the lane on another thread: true when that ended within the bound.
bool stopsWithin(BackgroundLane& lane, std::chrono::seconds bound) {
  auto stopped = std::async(std::launch::async, [&lane] {
    lane.requestStop();
    lane.join();
  });
  const bool prompt = stopped.wait_for(bound) == std::future_status::ready;
  stopped.wait();  // a lane that ignored the stop still ends at its next tick (bounded in each test)
  return prompt;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_round_that_throws_is_logged_and_the_lane_goes_on) {
  std::atomic<int> rounds{0};
  BackgroundLane lane("throwing", std::chrono::milliseconds(1), [&rounds](std::stop_token) -> int {
    if (++rounds % 2 == 1) throw std::runtime_error("store unavailable");
    return 1;
  });
  lane.start();
  BOOST_TEST(waitUntil(std::chrono::seconds(60), [&] { return rounds >= 4; }));
  BOOST_TEST(stopsWithin(lane, std::chrono::seconds(30)));
}

BOOST_AUTO_TEST_CASE(a_stop_wakes_a_lane_waiting_for_its_tick) {
  std::atomic<int> rounds{0};
  BackgroundLane lane("idle", std::chrono::seconds(60), [&rounds](std::stop_token) { return ++rounds; });
  lane.start();
  BOOST_TEST(stopsWithin(lane, std::chrono::seconds(30)), "the stop waited for the 60 s tick");
  BOOST_TEST(rounds == 0);  // a stop during the first wait runs no round
}

BOOST_AUTO_TEST_CASE(the_work_sees_the_stop_it_is_asked_for) {
  std::atomic<bool> working{false}, sawStop{false};
  BackgroundLane lane("long", std::chrono::milliseconds(1), [&](std::stop_token stop) {
    working = true;
    // A long round (many outbound calls) checks its token between calls; bounded for a failure.
    waitUntil(std::chrono::seconds(60), [&] { return stop.stop_requested(); });
    sawStop = stop.stop_requested();
    return 0;
  });
  lane.start();
  BOOST_REQUIRE(waitUntil(std::chrono::seconds(60), [&] { return working.load(); }));
  BOOST_TEST(stopsWithin(lane, std::chrono::seconds(30)));
  BOOST_TEST(sawStop.load());
}

// rounds() counts every completed round, one that threw too: the tests' witness that a whole
// round ran after some moment (TestServer::waitForFullRound) instead of a sleep.
BOOST_AUTO_TEST_CASE(rounds_counts_every_completed_round) {
  std::atomic<int> calls{0};
  BackgroundLane lane("counted", std::chrono::milliseconds(1), [&calls](std::stop_token) -> int {
    if (++calls % 2 == 1) throw std::runtime_error("store unavailable");
    return 1;
  });
  BOOST_TEST(lane.name() == "counted");
  BOOST_TEST(lane.rounds() == 0u);
  lane.start();
  BOOST_TEST(waitUntil(std::chrono::seconds(60), [&] { return lane.rounds() >= 4u; }));
  BOOST_TEST(stopsWithin(lane, std::chrono::seconds(30)));
  BOOST_TEST(lane.rounds() == static_cast<std::uint64_t>(calls.load()));  // every call ran to its end
}
