"""Amazon SNS: topics, subscriptions, filter policies, deliveries with retries and DLQs."""
