"""Amazon SQS: standard and FIFO queues, redrive, move tasks, both wire protocols."""
