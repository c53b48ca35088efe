// Result: reading the value of a failed Result is refused in every build, not only where asserts
// are compiled in.
#define BOOST_TEST_MODULE status
#include <boost/test/unit_test.hpp>

#include <string>

#include "bcauth/status.h"

using bcauth::Result;
using bcauth::Status;

BOOST_AUTO_TEST_CASE(a_failed_result_has_no_value_to_read) {
  Result<std::string> failed(Status::invalidArgument("must be text", "name"));
  BOOST_TEST(!failed.isOk());
  BOOST_CHECK_THROW(failed.value(), std::logic_error);
  BOOST_CHECK_THROW(static_cast<const Result<std::string>&>(failed).value(), std::logic_error);
  BOOST_CHECK_THROW(std::move(failed).value(), std::logic_error);
  BOOST_CHECK_THROW(failed->size(), std::logic_error);
  try {
    (void)failed.value();
  } catch (const std::logic_error& e) {
    BOOST_TEST(std::string(e.what()) == "value() of a failed Result: name: must be text");
  }
}

BOOST_AUTO_TEST_CASE(a_result_needs_a_value_or_a_failed_status) {
  BOOST_CHECK_THROW(Result<int>(Status::ok()), std::logic_error);
  Result<int> ok(7);
  BOOST_TEST(ok.isOk());
  BOOST_TEST(*ok == 7);
}
