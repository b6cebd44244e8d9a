"""SNS subscriptions that wait for their owner's confirmation, as on AWS.

moto 5.2.1 confirms every subscription at once, and publishes to http(s) endpoints with a real POST. On AWS an
email, email-json, http or https subscription stays pending until its owner follows the link SNS sends: Subscribe
answers "pending confirmation" (unless ReturnSubscriptionArn), ListSubscriptions(ByTopic) shows its
SubscriptionArn as "PendingConfirmation", it receives nothing, it cannot be unsubscribed (Unsubscribe of
"PendingConfirmation": InvalidParameter), and SNS deletes it after 48 hours
(https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-delete-subscription-topic.html). Nothing is confirmed locally, so the
local AWS never sends mail or reaches the network; SQS and Lambda subscriptions (same account) are confirmed at once
and delivered, as on AWS.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.core.responses import ActionResult
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend, Subscription
from moto.sns.responses import SNSResponse

from deploy.local_aws.extensions.patching import wrap_method

LOG = logging.getLogger("local_aws.sns")
CONFIRMED_BY_THEIR_OWNER = frozenset({"email", "email-json", "http", "https"})
PENDING = "PendingConfirmation"


def is_pending(subscription: Subscription) -> bool:
    return bool(getattr(subscription, "pending", False))


def _subscribe(original: Any, self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
    known = self._find_subscription(topic_arn, endpoint, protocol) is not None
    subscription = original(self, topic_arn, endpoint, protocol)
    if not known and protocol in CONFIRMED_BY_THEIR_OWNER:
        subscription.pending = True
        subscription.subscription_arn = PENDING  # what ListSubscriptions(ByTopic) show in its place (moto serialises this first)
        subscription.attributes["PendingConfirmation"] = "true"
    return subscription


def _subscribe_response(original: Any, self: SNSResponse) -> Any:
    result = original(self)
    arn = result.result["SubscriptionArn"]
    subscription = self.backend.subscriptions.get(arn)
    wants_arn = str(self._get_param("ReturnSubscriptionArn", "false")).lower() == "true"
    if subscription is not None and is_pending(subscription) and not wants_arn:
        return ActionResult({"SubscriptionArn": "pending confirmation"})
    return result


def _unsubscribe(original: Any, self: SNSBackend, subscription_arn: str) -> None:
    if not subscription_arn.startswith("arn:"):
        raise SNSInvalidParameter(
            f"Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not {len(subscription_arn.split(':'))}")
    original(self, subscription_arn)


def _publish(original: Any, self: Subscription, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    if is_pending(self):
        LOG.info("SNS message %s not sent to %s %s: subscription pending confirmation", message_id, self.protocol, self.endpoint)
        return
    original(self, message, message_id, *args, **kwargs)


def apply() -> None:
    wrap_method(SNSBackend, "subscribe")(_subscribe)
    wrap_method(SNSResponse, "subscribe")(_subscribe_response)
    wrap_method(SNSBackend, "unsubscribe")(_unsubscribe)
    wrap_method(Subscription, "publish")(_publish)
