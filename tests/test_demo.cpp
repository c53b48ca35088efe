// `bcauth demo` end to end: both flows succeed and fail exactly as documented, and the
// timelines show it.
#define BOOST_TEST_MODULE demo
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "app/cli.h"
#include "demo/demo.h"

BOOST_AUTO_TEST_CASE(both_flows_and_one_failure_each) {
  std::ostringstream log;
  const auto timelines = bcauth::demo::runDemo(log);
  BOOST_REQUIRE_EQUAL(timelines.size(), 2u);
  const std::vector<std::string> legacy = {"message.received", "auth.requested", "auth.delivered",
                                           "auth.succeeded customer customer@example.com",
                                           "auth.requested", "auth.delivered", "auth.failed [provider_error]"};
  const std::vector<std::string> v2 = {"message.received", "auth.requested", "auth.delivered",
                                       "auth.succeeded customer customer@example.com", "auth.requested",
                                       "auth.delivered", "auth.failed [provider_error]"};
  BOOST_TEST(timelines[0].events == legacy, boost::test_tools::per_element());
  BOOST_TEST(timelines[1].events == v2, boost::test_tools::per_element());
  BOOST_TEST(log.str().find("messages-auth://?status=success") != std::string::npos);
  BOOST_TEST(log.str().find("messages-auth://?status=failure&error_code=3") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_command) {
  std::ostringstream out, err;
  BOOST_TEST(bcauth::app::runCli({"demo", "--help"}, out, err) == 0);
  BOOST_TEST(bcauth::app::runCli({"demo", "extra"}, out, err) == 2);
}
