// The stored form of a Subscription and its SubscriptionState: JSON with every name expanded and
// q kept as its parsed tree, so that reading it back needs no @context (the creating request's
// may be gone) and gives back exactly what was encoded. The engine keeps it through the
// store's record operations.
#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::ngsild::subscription {

struct StoredSubscription {
  Subscription subscription;
  SubscriptionState state;
};

std::string encode_subscription(const Subscription& s, const SubscriptionState& st);

// InternalError naming the member when `text` is not a stored subscription (a damaged record).
Result<StoredSubscription> decode_subscription(std::string_view text);

}  // namespace tsunagu::ngsild::subscription
