#pragma once

// The one place Boost.Asio is included. <utility> first: Boost 1.74's awaitable.hpp uses
// std::exchange without including it.
#include <utility>

// Boost 1.74 enables co_await for clang only with <experimental/coroutine>; clang 14 (used by
// clang-tidy) has the standard header with libstdc++ 12.
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#include <coroutine>
#define BOOST_ASIO_HAS_CO_AWAIT 1
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace warden::mcp {

namespace asio = boost::asio;
template <class T>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;
using Executor = asio::any_io_executor;

}  // namespace warden::mcp
