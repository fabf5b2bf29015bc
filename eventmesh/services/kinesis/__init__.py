"""Amazon Kinesis Data Streams: shards, sequence numbers, iterators, quotas, resharding."""
